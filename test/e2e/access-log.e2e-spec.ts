// The log reaches stdout in blocks (one write per request line cost more than the logging itself), yet no
// line waits more than ~100 ms, and what is buffered is written when the process exits.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const LOGGER = join(__dirname, '..', '..', 'dist', 'telemetry', 'logger');

interface Logged {
  line: Record<string, unknown>;
  /** Date.now() when the line reached this process. */
  at: number;
  /** Whether it came before this process asked the child to exit (only with `exitOnFirstLine`). */
  beforeExit: boolean;
}

/**
 * Runs `body` in a child with `log` = a default AppLogger; resolves with each stdout line and when it came.
 * With `exitOnFirstLine` the child runs until its first line arrives (at most 30 s), then is asked to exit.
 */
function runLogging(body: string, { exitOnFirstLine = false } = {}): Promise<Logged[]> {
  const exitOnStdinEnd = exitOnFirstLine
    ? `process.stdin.on('end', () => process.exit(0)).resume(); setTimeout(() => process.exit(2), 60_000);`
    : '';
  const script = `const { AppLogger } = require(${JSON.stringify(LOGGER)}); const log = new AppLogger('info'); ${exitOnStdinEnd} ${body}`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.on('error', () => undefined); // a child that died early shows in its lines, not as EPIPE here
  const lines: Logged[] = [];
  let exitAsked = false;
  const askExit = () => {
    exitAsked = true;
    child.stdin.end();
  };
  const deadline = exitOnFirstLine ? setTimeout(askExit, 30_000) : undefined;
  if (!exitOnFirstLine) child.stdin.end();
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (pending + chunk).split('\n');
    pending = parts.pop()!;
    for (const part of parts)
      lines.push({
        line: JSON.parse(part) as Record<string, unknown>,
        at: Date.now(),
        beforeExit: !exitAsked,
      });
    if (exitOnFirstLine && lines.length > 0 && !exitAsked) {
      clearTimeout(deadline);
      askExit();
    }
  });
  return new Promise((resolve) =>
    child.once('close', () => {
      clearTimeout(deadline);
      resolve(lines);
    }),
  );
}

describe('the request log on stdout', () => {
  it('writes a lone line within the flush interval, while the process keeps running', async () => {
    const lines = await runLogging(`log.event('first');`, { exitOnFirstLine: true });
    expect(lines.map((l) => l.line['evt'])).toEqual(['first']);
    // Written by the flush timer, not by the exit: it came while the child still ran (it waits up to 30 s).
    expect(lines[0]!.beforeExit).toBe(true);
    // ~100 ms after it was logged, measured from the line's own time (not from a start-up that a loaded
    // machine can make take seconds); the bound leaves room for a late timer, not for waiting on more lines.
    expect(lines[0]!.at - Date.parse(lines[0]!.line['time'] as string)).toBeLessThan(1000);
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
