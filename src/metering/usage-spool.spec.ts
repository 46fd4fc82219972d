import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toUsageRow, type UsageRow } from './usage-row';
import { UsageSpool } from './usage-spool';

function rows(n: number, from = 0): UsageRow[] {
  return Array.from({ length: n }, (_, i) =>
    toUsageRow({
      time: new Date(Date.UTC(2026, 0, 1, 0, 0, from + i)).toISOString(),
      requestId: `req_${from + i}`,
      method: 'POST',
      endpoint: '/v1/chat/completions',
      status: 200,
      latencyMs: 1.5,
      promptTokens: from + i,
    }),
  );
}

const segmentName = (seq: number, pid: number) => `usage-${String(seq).padStart(12, '0')}-${pid}.jsonl`;
const lines = (items: UsageRow[]) => items.map((r) => `${JSON.stringify(r)}\n`).join('');
/** A pid that surely belongs to no running process: one that just exited. */
const deadPid = () => spawnSync('true').pid;

/** Reads every segment the way the writer's pump does, oldest first, removing each. */
async function drainAll(spool: UsageSpool): Promise<string[]> {
  const out: string[] = [];
  for (let s = spool.head; s; s = spool.head) {
    out.push(...(await spool.rowsOf(s)).map((r) => r.requestId));
    await spool.removeHead();
  }
  return out;
}

describe('UsageSpool', () => {
  let dir: string;
  let errors: unknown[];
  const open = () => UsageSpool.open(dir, (err) => errors.push(err));
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hunze-spool-'));
    errors = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('has each row in its segment file when append returns: what a SIGKILL right after would leave', async () => {
    const spool = await open();
    const [first, second] = rows(2);
    spool.append(first!);
    const [name] = readdirSync(dir);
    expect(name).toBe(segmentName(1, process.pid));
    expect(readFileSync(join(dir, name!), 'utf8')).toBe(lines([first!]));
    expect(spool.append(second!)).toBe(2);
    expect(readFileSync(join(dir, name!), 'utf8')).toBe(lines([first!, second!]));
    expect(spool.depth).toBe(2);
    expect(errors).toEqual([]);
  });

  it('writes a line with multi-byte text whole (a short write is told by bytes, not UTF-16 units)', async () => {
    const spool = await open();
    const [row] = rows(1);
    const wide = { ...row!, model: 'modèle-\u{1F600}-模型', account: '\u00e9quipe' };
    spool.append(wide);
    spool.append(row!);
    expect(errors).toEqual([]);
    expect(readFileSync(join(dir, readdirSync(dir)[0]!), 'utf8')).toBe(lines([wide, row!]));
    spool.seal();
    expect(spool.head!.onDisk).toBe(2);
    spool.trimMemory(0); // read back from the file
    expect(spool.head!.rows).toBeUndefined();
    expect(await spool.rowsOf(spool.head!)).toEqual([wide, row]);
  });

  it('one segment per seal, read oldest first, each file deleted once removed', async () => {
    const spool = await open();
    for (const row of rows(3)) spool.append(row);
    spool.seal();
    for (const row of rows(2, 3)) spool.append(row);
    spool.seal();
    expect(readdirSync(dir)).toEqual([segmentName(1, process.pid), segmentName(2, process.pid)]);
    expect(spool.oldestOccurredAt).toBe('2026-01-01T00:00:00.000Z');
    expect(await drainAll(spool)).toEqual(['req_0', 'req_1', 'req_2', 'req_3', 'req_4']);
    expect(spool.depth).toBe(0);
    expect(spool.held).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('releases rows beyond the memory limit and reads them back from disk, every field intact', async () => {
    const spool = await open();
    const written = rows(6);
    for (const [i, row] of written.entries()) {
      spool.append(row);
      if (i % 2 === 1) {
        spool.seal();
        expect(spool.trimMemory(3)).toBe(0);
      }
    }
    expect(spool.held).toBe(2); // the rest come back from disk
    expect(spool.depth).toBe(6);
    const back: UsageRow[] = [];
    for (let s = spool.head; s; s = spool.head) {
      back.push(...(await spool.rowsOf(s)));
      await spool.removeHead();
    }
    expect(back).toEqual(written);
  });

  it('takes over the segments of a dead process in order, skipping a torn last line and damaged lines', async () => {
    const dead = deadPid();
    const [a, b, c, d] = rows(4);
    writeFileSync(join(dir, segmentName(7, dead)), lines([a!]));
    // SIGKILL in the middle of a write: half a JSON line, no newline.
    writeFileSync(join(dir, segmentName(8, dead)), lines([b!]) + JSON.stringify(c).slice(0, 40));
    writeFileSync(join(dir, segmentName(9, dead)), `{"id":"not-a-uuid"}\n\u0000garbage\n${lines([d!])}`);
    writeFileSync(join(dir, 'notes.txt'), 'not a segment');
    const spool = await open();
    expect(spool.depth).toBe(3);
    expect(spool.oldestOccurredAt).toBe(a!.occurredAt);
    // New rows go to a new segment after the old ones, never after a torn line.
    spool.append(rows(1, 10)[0]!);
    spool.seal();
    expect(readdirSync(dir)).toContain(segmentName(10, process.pid));
    expect(await drainAll(spool)).toEqual(['req_0', 'req_1', 'req_3', 'req_10']);
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });

  it("takes over an earlier life of its own pid, leaves a live process's segments alone", async () => {
    const [mine, theirs] = rows(2);
    writeFileSync(join(dir, segmentName(1, process.pid)), lines([mine!]));
    writeFileSync(join(dir, segmentName(2, process.ppid)), lines([theirs!]));
    const spool = await open();
    expect(spool.depth).toBe(1);
    spool.append(rows(1, 5)[0]!);
    spool.seal();
    expect(await drainAll(spool)).toEqual(['req_0', 'req_5']);
    expect(readdirSync(dir)).toEqual([segmentName(2, process.ppid)]);
  });

  it('takes over the segments of a killed process its parent has not reaped yet (a zombie)', async () => {
    // The shell starts a long child, then exec's into `sleep`, which never reaps it. The child is killed
    // only once the exec has happened: killed earlier, the shell itself could still reap it.
    // Both sleep far longer than the test waits: the parent must not exit (and its zombie be reaped) first.
    const parent = spawn('/bin/sh', ['-c', 'sleep 600 & echo $!; exec sleep 600'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let child = 0;
    try {
      child = Number(
        await new Promise<string>((resolve) =>
          parent.stdout.once('data', (d: Buffer) => resolve(d.toString())),
        ),
      );
      const stat = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8');
      const waitFor = async (done: () => boolean) => {
        const deadline = Date.now() + 30_000; // a loaded machine may take seconds to run the shell's exec
        while (Date.now() < deadline && !done()) await new Promise((r) => setTimeout(r, 10));
      };
      // /proc/<pid>/stat: "pid (comm) state ..."; after the exec the parent's comm is `sleep`.
      await waitFor(() => stat(parent.pid!).includes('(sleep)'));
      expect(stat(parent.pid!)).toContain('(sleep)');
      process.kill(child, 'SIGKILL');
      await waitFor(() => stat(child).split(' ')[2] === 'Z');
      expect(stat(child).split(' ')[2]).toBe('Z');
      writeFileSync(join(dir, segmentName(1, child)), lines(rows(1)));
      const spool = await open();
      expect(await drainAll(spool)).toEqual(['req_0']);
    } finally {
      parent.kill('SIGKILL');
      if (child) {
        try {
          process.kill(child, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });

  it('when the disk refuses, rows stay in memory (reported once), and beyond twice the limit are dropped', async () => {
    const spool = await open();
    for (const row of rows(2)) spool.append(row);
    // The descriptor goes bad under the spool (EBADF stands in for EIO or ENOSPC).
    closeSync((spool as unknown as { active: { fd: number } }).active.fd);
    for (const row of rows(2, 2)) spool.append(row);
    spool.seal();
    mkdirSync(join(dir, segmentName(2, process.pid))); // the next segment cannot be created either
    for (const row of rows(3, 4)) spool.append(row);
    spool.seal();
    expect(errors).toHaveLength(1);
    expect(spool.depth).toBe(7);
    // Over twice the limit, the oldest segment not fully on disk gives up the rows only memory held.
    expect(spool.trimMemory(2)).toBe(2);
    expect(spool.depth).toBe(5);
    expect(await drainAll(spool)).toEqual(['req_0', 'req_1', 'req_4', 'req_5', 'req_6']);
  });

  it('a segment closed for good keeps what was appended to it before the torn line', async () => {
    const spool = await open();
    for (const row of rows(2)) spool.append(row);
    spool.close();
    const [name] = readdirSync(dir);
    appendFileSync(join(dir, name!), '{"id":');
    const reopened = await UsageSpool.open(dir, () => undefined);
    expect(reopened.depth).toBe(2);
    expect(await drainAll(reopened)).toEqual(['req_0', 'req_1']);
  });
});
