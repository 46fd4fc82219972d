// The log reaches stdout in blocks (one write per request line cost more than the logging itself), yet no
// line waits more than ~100 ms, and what is buffered is written when the process exits.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const LOGGER = join(__dirname, '..', '..', 'dist', 'telemetry', 'logger');

/** Runs `body` in a child with `log` = a default AppLogger; resolves with each stdout line and when it came. */
function runLogging(body: string): Promise<{ line: Record<string, unknown>; atMs: number }[]> {
  const script = `const { AppLogger } = require(${JSON.stringify(LOGGER)}); const log = new AppLogger('info'); ${body}`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const started = performance.now();
  const lines: { line: Record<string, unknown>; atMs: number }[] = [];
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (pending + chunk).split('\n');
    pending = parts.pop()!;
    for (const part of parts) lines.push({ line: JSON.parse(part), atMs: performance.now() - started });
  });
  return new Promise((resolve) => child.once('close', () => resolve(lines)));
}

describe('the request log on stdout', () => {
  it('writes a lone line within the flush interval, while the process keeps running', async () => {
    const lines = await runLogging(
      `setTimeout(() => log.event('first'), 200); setTimeout(() => process.exit(0), 1200);`,
    );
    expect(lines.map((l) => l.line['evt'])).toEqual(['first']);
    // logged at ~200 ms after start-up; written ~100 ms later, long before the exit at 1,200 ms
    expect(lines[0]!.atMs).toBeLessThan(900);
  });

  it('writes everything still buffered when the process exits', async () => {
    const lines = await runLogging(`for (let i = 0; i < 5; i++) log.event('line', { i }); process.exit(0);`);
    expect(lines.map((l) => l.line['i'])).toEqual([0, 1, 2, 3, 4]);
  });

  it('writes large volumes in order, none lost', async () => {
    const lines = await runLogging(
      `for (let i = 0; i < 5000; i++) log.event('line', { i }); setTimeout(() => process.exit(0), 50);`,
    );
    expect(lines).toHaveLength(5000);
    expect(lines.every((l, i) => l.line['i'] === i)).toBe(true);
  });
});
