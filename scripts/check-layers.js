// Shows that lint refuses an upward import and an import cycle: lints edited texts of real files with the
// repository's eslint.config.mjs (only its import-x rules) and checks which rule fires. Prints one JSON line
// per case; exits 1 when a case does not come out as expected. Run by test/lint/layers.spec.ts.
const { dirname, join, resolve } = require('node:path');
const { existsSync, readFileSync } = require('node:fs');
const { ESLint } = require('eslint');

const root = join(__dirname, '..');
const source = (file) => readFileSync(join(root, file), 'utf8');

const CASES = [
  {
    name: 'upward import: core from gateway',
    file: 'src/core/clock.ts',
    append:
      "import { AUTO_MODEL } from '../gateway/chat/routing-decision';\nexport const upward = AUTO_MODEL;\n",
    expect: ['import-x/no-restricted-paths'],
  },
  {
    name: 'import between folders of one layer: reports from health',
    file: 'src/reports/markdown.ts',
    append:
      "import { HealthModule } from '../health/health.module';\nexport const sideways = HealthModule;\n",
    expect: ['import-x/no-restricted-paths'],
  },
  {
    name: 'import cycle: routing-decision <-> auto-router.service',
    file: 'src/gateway/chat/routing-decision.ts',
    append: "import { AutoRouter } from './auto-router.service';\nexport const cycle = AutoRouter;\n",
    expect: ['import-x/no-cycle'],
  },
  {
    name: 'downward import: gateway from core',
    file: 'src/gateway/chat/routing-decision.ts',
    append: "import { Clock } from '../../core/clock';\nexport const downward = Clock;\n",
    expect: [],
  },
];

async function main() {
  const eslint = new ESLint({ cwd: root, ruleFilter: ({ ruleId }) => ruleId.startsWith('import-x/') });
  let failed = 0;
  for (const c of CASES) {
    // A case whose import no longer resolves (a file moved) would prove nothing: it fails instead.
    for (const [, spec] of c.append.matchAll(/from '([^']+)'/g)) {
      if (!existsSync(`${resolve(root, dirname(c.file), spec)}.ts`))
        throw new Error(`${c.name}: ${spec} not found`);
    }
    const [result] = await eslint.lintText(`${source(c.file)}\n${c.append}`, {
      filePath: join(root, c.file),
    });
    const rules = [...new Set(result.messages.map((m) => m.ruleId ?? m.message))].sort();
    const ok = JSON.stringify(rules) === JSON.stringify(c.expect);
    if (!ok) failed++;
    process.stdout.write(`${JSON.stringify({ case: c.name, expected: c.expect, got: rules, ok })}\n`);
  }
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exitCode = 2;
});
