// The usage writer's only door to the database: one multi-row INSERT per batch, at most one in flight, each
// given up on after a timeout. A paused or unreachable Postgres leaves a query hanging on its connection; by
// never starting a second one while the first is unsettled, the writer holds at most one pooled connection
// however long the outage lasts, and the rest of the pool stays free for everything else.
import type { UsageRecordsRepository } from './usage-records.repository';
import type { UsageRow } from './usage-row';

export class UsageStoreBusyError extends Error {
  override readonly name = 'UsageStoreBusyError';
}

export class UsageStoreTimeoutError extends Error {
  override readonly name = 'UsageStoreTimeoutError';
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity violation): the row, not the database, is at fault. */
/**
 * A query unsettled this long is given up for good (a silently dropped TCP connection can take many minutes
 * to fail): the writer may then use a second connection rather than spool until the kernel notices.
 */
const ABANDON_AFTER_MS = 60_000;

function isRowError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

export class UsageStore {
  private pending: Promise<unknown> | undefined;
  private pendingSince = 0;
  /** Rows the database refused (should stay 0: rows are clamped to their column types when made). */
  rejected = 0;

  constructor(
    private readonly records: UsageRecordsRepository,
    private readonly timeoutMs: number,
    /** Called when a query settles after the caller gave up on it: the database is answering again. */
    private readonly onLateSettle: () => void = () => undefined,
  ) {}

  /** True while an earlier query (perhaps one given up on) has not settled. */
  get busy(): boolean {
    if (this.pending && Date.now() - this.pendingSince > ABANDON_AFTER_MS) this.pending = undefined;
    return this.pending !== undefined;
  }

  /** Inserts the rows in one statement; rejects on error, timeout, or while an earlier query is unsettled. */
  async insert(rows: readonly UsageRow[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      await this.run(rows);
    } catch (err) {
      if (!isRowError(err) || rows.length === 1) throw err;
      await this.insertOneByOne(rows);
    }
  }

  /** A batch the database refused for its content: insert what it accepts, count and drop the rest. */
  private async insertOneByOne(rows: readonly UsageRow[]): Promise<void> {
    for (const row of rows) {
      try {
        await this.run([row]);
      } catch (err) {
        if (!isRowError(err)) throw err;
        this.rejected++;
      }
    }
  }

  private async run(rows: readonly UsageRow[]): Promise<void> {
    if (this.busy) throw new UsageStoreBusyError('an earlier usage insert has not settled');
    if (!this.records.open) throw new Error('the database connection is closed');
    const query = this.records.insert(rows);
    let timedOut = false;
    const tracked = query.finally(() => {
      if (this.pending === tracked) this.pending = undefined;
      if (timedOut) this.onLateSettle();
    });
    this.pending = tracked;
    this.pendingSince = Date.now();
    tracked.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(new UsageStoreTimeoutError('usage insert timed out'));
      }, this.timeoutMs);
    });
    try {
      await Promise.race([query, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
