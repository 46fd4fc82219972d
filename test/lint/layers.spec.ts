// The layer order and the ban on import cycles are lint rules (eslint.config.mjs): this shows they fire.
// scripts/check-layers.js lints edited texts of real files (an upward import, an import between two folders
// of one layer, a cycle, and a harmless downward import) with the repository's own config, in a child
// process so ESLint loads its ESM config outside Jest's module system.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

interface CaseResult {
  case: string;
  expected: string[];
  got: string[];
  ok: boolean;
}

function checkLayers(): Promise<{ code: number | null; results: CaseResult[]; stderr: string }> {
  const root = join(__dirname, '..', '..');
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(root, 'scripts', 'check-layers.js')],
      { cwd: root },
      (_err, stdout, stderr) => {
        const results = stdout
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as CaseResult);
        resolve({ code: child.exitCode, results, stderr });
      },
    );
  });
}

describe('layer order by lint', () => {
  it('refuses upward imports, imports within a layer and cycles; allows downward imports', async () => {
    const { code, results, stderr } = await checkLayers();
    expect(stderr).toBe('');
    expect(results.map((r) => [r.case, r.got])).toEqual([
      ['upward import: core from gateway', ['import-x/no-restricted-paths']],
      ['import between folders of one layer: reports from health', ['import-x/no-restricted-paths']],
      ['import cycle: routing-decision <-> auto-router.service', ['import-x/no-cycle']],
      ['downward import: gateway from core', []],
    ]);
    expect(code).toBe(0);
  });
});
