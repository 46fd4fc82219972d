// Crash output is metadata only: an uncaught exception or unhandled rejection whose message quotes input
// is logged by class and stack frames through the crash guard, and the message never reaches stdout/stderr.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const CANARY = 'CaNaRy~crash~5d1e';
const DIST = join(__dirname, '..', '..', 'dist', 'telemetry');

function crashWith(statement: string) {
  const script = `
    const { AppLogger } = require(${JSON.stringify(join(DIST, 'logger'))});
    const { installCrashGuard } = require(${JSON.stringify(join(DIST, 'crash-guard'))});
    installCrashGuard(new AppLogger('info'));
    setTimeout(() => { ${statement} }, 10);`;
  // The guard exits at once; the timeout only stops a hung child, with time for a slow start on a busy machine.
  return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
}

describe('crash guard', () => {
  it.each([
    ['an uncaught exception', `throw new SyntaxError('Unexpected token in ${CANARY}')`],
    ['an unhandled rejection', `Promise.reject(new Error('${CANARY}'))`],
  ])('logs %s without its message and exits 1', (_what, statement) => {
    const result = crashWith(statement);
    expect(result.status).toBe(1);
    expect(result.stdout + result.stderr).not.toContain(CANARY);
    const line = JSON.parse(result.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 50, errorClass: expect.stringMatching(/Error$/) });
    expect(String(line['evt'])).toMatch(/^(uncaught_exception|unhandled_rejection)$/);
  });

  it('would see the message without the guard (control)', () => {
    const result = spawnSync(process.execPath, ['-e', `throw new Error('${CANARY}')`], { encoding: 'utf8' });
    expect(result.stderr).toContain(CANARY);
  });
});
