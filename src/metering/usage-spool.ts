// The usage spool, a journal: every usage row is appended to a JSON-lines segment file under
// <dataDir>/spool/ when it is enqueued, with one synchronous write() to an O_APPEND descriptor (~4 µs). Once
// write() returns, the line is in the kernel's page cache: a SIGKILL or any crash of this process cannot lose
// it, only a power loss or kernel crash can. An fsync per row would close that gap too but costs milliseconds
// on the request path; instead each segment is fdatasync'ed once, off the event loop, when it is sealed (at
// most a batch or a flush interval after its first row), which bounds what a power loss can take.
// A segment holds one batch: it is sealed at `batchSize` rows or when the writer flushes, inserted as one
// statement (from memory while the rows are held there) and deleted once all of it is in the database.
// While the database is down the sealed segments simply stay; nothing is written twice.
// A process appends only to segments it created (the name carries its pid), so the torn last line a crash
// can leave is the end of a segment and is skipped when read. At start, segments of dead processes (and of
// an earlier life of our own pid) are taken over, oldest first; those of another live process are left alone.
import { close, closeSync, fdatasync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parseUsageRow, type UsageRow } from './usage-row';

const SEGMENT = /^usage-(\d{12})-(\d+)\.jsonl$/;

export interface Segment {
  readonly path: string;
  /** Rows in the segment. */
  records: number;
  /** Rows whose line is complete in the file (fewer than `records` once a write failed). */
  onDisk: number;
  /** The rows while held in memory; undefined once released (they are read back from the file). */
  rows: UsageRow[] | undefined;
  /** occurred_at of its first row. */
  oldest: string | undefined;
}

interface ActiveSegment extends Segment {
  rows: UsageRow[];
  /** Open for appending; undefined after a failed open or write (later rows of this segment stay in memory). */
  fd: number | undefined;
}

/** The rows of a segment file; a torn last line (no newline) and damaged lines are skipped. */
async function readSegment(path: string): Promise<UsageRow[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []; // never created: the disk refused
    throw err;
  }
  const lines = text.split('\n');
  lines.pop(); // after the last newline: empty, or the torn end of a crashed append
  const rows: UsageRow[] = [];
  for (const line of lines) {
    try {
      const row = parseUsageRow(JSON.parse(line));
      if (row) rows.push(row);
    } catch {
      // damaged bytes: skip the line
    }
  }
  return rows;
}

/** True for another process that is running (its segments are its own); false for us and for the dead. */
function isOtherLiveProcess(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process its parent has not reaped yet (a zombie) still answers signal 0 but writes no more.
  try {
    return !/^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc: assume it runs
  }
}

export class UsageSpool {
  private readonly sealed: Segment[] = [];
  private active: ActiveSegment | undefined;
  private nextSeq = 1;
  private pending = 0;
  private inMemory = 0;
  private writeFailing = false;

  private constructor(
    private readonly dir: string,
    /** Told once when writes start failing (disk full?); rows then stay in memory until they succeed again. */
    private readonly onWriteError: (err: unknown) => void,
  ) {}

  /** Opens the spool directory and takes over what dead processes left there, oldest first. */
  static async open(dir: string, onWriteError: (err: unknown) => void): Promise<UsageSpool> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const spool = new UsageSpool(dir, onWriteError);
    const found = (await readdir(dir))
      .map((name) => ({ name, match: SEGMENT.exec(name) }))
      .filter((f) => f.match)
      .map((f) => ({ path: join(dir, f.name), seq: Number(f.match![1]), pid: Number(f.match![2]) }))
      .sort((a, b) => a.seq - b.seq || a.pid - b.pid);
    for (const { path, seq, pid } of found) {
      spool.nextSeq = Math.max(spool.nextSeq, seq + 1);
      if (isOtherLiveProcess(pid)) continue;
      const rows = await readSegment(path);
      const records = rows.length;
      spool.sealed.push({ path, records, onDisk: records, rows: undefined, oldest: rows[0]?.occurredAt });
      spool.pending += records;
    }
    return spool;
  }

  /** Rows not yet removed (not yet known to be in the database). */
  get depth(): number {
    return this.pending;
  }

  /** Rows also held in memory. */
  get held(): number {
    return this.inMemory;
  }

  /** The oldest sealed segment: the next to insert. */
  get head(): Segment | undefined {
    return this.sealed[0];
  }

  get oldestOccurredAt(): string | undefined {
    return this.sealed.find((s) => s.records > 0)?.oldest ?? this.active?.oldest;
  }

  /** Writes the row to the active segment before returning; never throws. Returns the segment's row count. */
  append(row: UsageRow): number {
    const active = (this.active ??= this.createSegment());
    active.rows.push(row);
    active.records++;
    active.oldest ??= row.occurredAt;
    this.pending++;
    this.inMemory++;
    if (active.fd !== undefined) this.write(active, `${JSON.stringify(row)}\n`);
    return active.records;
  }

  /**
   * The line goes to write() as a string, encoded as UTF-8 by Node on its way (no Buffer made for it here); a
   * short write is told by its bytes. JSON.stringify escapes lone surrogates, so the encoding loses nothing.
   */
  private write(active: ActiveSegment, line: string): void {
    try {
      if (writeSync(active.fd!, line) !== Buffer.byteLength(line))
        throw new Error('short write to the usage spool');
      active.onDisk++;
      this.writeFailing = false;
    } catch (err) {
      // A torn line may now end the file: nothing more goes into it; this segment's later rows stay in memory.
      closeQuietly(active.fd!);
      active.fd = undefined;
      this.failed(err);
    }
  }

  private createSegment(): ActiveSegment {
    const path = join(this.dir, `usage-${String(this.nextSeq++).padStart(12, '0')}-${process.pid}.jsonl`);
    let fd: number | undefined;
    try {
      fd = openSync(path, 'ax', 0o600);
    } catch (err) {
      this.failed(err);
    }
    return { path, records: 0, onDisk: 0, rows: [], oldest: undefined, fd };
  }

  private failed(err: unknown): void {
    if (!this.writeFailing) this.onWriteError(err);
    this.writeFailing = true;
  }

  /** Closes the active segment for appends; the next row starts a new one. The sync runs off the event loop. */
  seal(): void {
    const active = this.active;
    if (!active) return;
    this.active = undefined;
    this.sealed.push(active);
    const fd = active.fd;
    active.fd = undefined;
    if (fd !== undefined) fdatasync(fd, () => close(fd, () => undefined));
  }

  /**
   * Keeps about `limit` rows in memory: a sealed segment beyond it is released (its rows are on disk). Rows the
   * disk refused are kept up to twice the limit; beyond that the oldest are dropped. Returns the rows dropped.
   */
  trimMemory(limit: number): number {
    const newest = this.sealed.at(-1);
    if (newest?.rows && this.inMemory > limit && newest.onDisk === newest.records) this.release(newest);
    let dropped = 0;
    for (const segment of this.sealed) {
      if (this.inMemory <= limit * 2) break;
      if (!segment.rows) continue;
      dropped += segment.records - segment.onDisk;
      this.pending -= segment.records - segment.onDisk;
      segment.records = segment.onDisk;
      this.release(segment);
    }
    return dropped;
  }

  private release(segment: Segment): void {
    this.inMemory -= segment.rows?.length ?? 0;
    segment.rows = undefined;
  }

  /** The segment's rows: from memory, or read back from its file. */
  rowsOf(segment: Segment): Promise<UsageRow[]> {
    return segment.rows ? Promise.resolve(segment.rows) : readSegment(segment.path);
  }

  /** The head segment is in the database: forget it and delete its file. */
  async removeHead(): Promise<void> {
    const segment = this.sealed.shift();
    if (!segment) return;
    this.pending -= segment.records;
    this.release(segment);
    await unlink(segment.path).catch(() => undefined);
  }

  /** Seals the active segment; every segment not yet removed stays on disk for the next start. */
  close(): void {
    this.seal();
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already unusable
  }
}
