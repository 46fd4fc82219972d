import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import type { RequestRecord } from '../core/request-record';
import type { HunzeConfig } from '../config/hunze-config';
import { AppLogger } from '../telemetry/logger';
import { MetricsService } from './metrics.service';
import { UsageRecordsRepository } from './usage-records.repository';
import { INSERT_USAGE_SQL, type UsageRow } from './usage-row';
import { USAGE_WRITER_LIMITS, UsageWriter } from './usage-writer';

/**
 * Stands in for the database behind the DataSource: takes the unnest column arrays, keeps rows by id like the
 * primary key with ON CONFLICT DO NOTHING, and can fail or hang every query until told otherwise.
 */
class FakeDatabase {
  readonly requestIds: string[] = [];
  readonly ids = new Set<string>();
  statements = 0;
  inFlight = 0;
  maxInFlight = 0;
  state: 'up' | 'failing' | 'hanging' = 'up';
  private hung: (() => void)[] = [];

  readonly dataSource = {
    isInitialized: true,
    query: (sql: string, params: [string]) => this.query(sql, params),
  } as unknown as DataSource;

  private async query(sql: string, [json]: [string]): Promise<unknown> {
    expect(sql).toBe(INSERT_USAGE_SQL);
    this.statements++;
    if (this.state === 'failing')
      throw Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.state === 'hanging') await new Promise<void>((resolve) => this.hung.push(resolve));
      for (const { id, requestId } of JSON.parse(json) as UsageRow[]) {
        if (this.ids.has(id)) continue;
        this.ids.add(id);
        this.requestIds.push(requestId);
      }
      return [];
    } finally {
      this.inFlight--;
    }
  }

  /** The database comes back: hung queries complete (and commit), new ones succeed. */
  recover(): void {
    this.state = 'up';
    for (const resolve of this.hung.splice(0)) resolve();
  }
}

function record(i: number): RequestRecord {
  return {
    time: new Date(Date.UTC(2026, 0, 1) + i).toISOString(),
    requestId: `req_${i}`,
    method: 'POST',
    endpoint: '/v1/chat/completions',
    status: 200,
    latencyMs: 3,
    promptTokens: 10,
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `req_${from + i}`);

/** Polls with the real clock (node:timers/promises), also while a test fakes the global setTimeout. */
async function until(check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met');
    await sleep(5);
  }
}

describe('UsageWriter', () => {
  const defaults = { ...USAGE_WRITER_LIMITS };
  let dir: string;
  let db: FakeDatabase;
  let metrics: MetricsService;
  let events: string[];
  let writer: UsageWriter;

  beforeEach(async () => {
    Object.assign(USAGE_WRITER_LIMITS, {
      insertTimeoutMs: 100,
      flushIntervalMs: 20,
      retryMinDelayMs: 20,
      retryMaxDelayMs: 50,
    });
    dir = mkdtempSync(join(tmpdir(), 'hunze-writer-'));
    db = new FakeDatabase();
    events = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
          events.push((JSON.parse(line) as { evt: string }).evt);
        done();
      },
    });
    writer = await start(new AppLogger('info', sink));
  });

  async function start(log: AppLogger, dataDir = dir, database = db): Promise<UsageWriter> {
    metrics = new MetricsService();
    const started = new UsageWriter(
      new UsageRecordsRepository(database.dataSource),
      { dataDir } as HunzeConfig,
      metrics,
      log,
    );
    await started.onModuleInit();
    started.onApplicationBootstrap();
    return started;
  }

  afterEach(async () => {
    jest.useRealTimers();
    db.recover();
    await writer.onApplicationShutdown();
    Object.assign(USAGE_WRITER_LIMITS, defaults);
    rmSync(dir, { recursive: true, force: true });
  });

  const metric = async (name: string) =>
    (await metrics.registry.getSingleMetric(name)!.get()).values[0]?.value;

  it('writes full batches at once, one statement each, and the rest after the flush interval', async () => {
    // Only setTimeout is faked, so the flush interval passes when the test says, however slow the machine:
    // the full batches must go out without it, the rest only once it has passed.
    jest.useFakeTimers({
      doNotFake: [
        'nextTick',
        'setImmediate',
        'clearImmediate',
        'queueMicrotask',
        'Date',
        'hrtime',
        'performance',
      ],
    });
    for (let i = 0; i < 2_500; i++) writer.enqueue(record(i));
    // The counter moves when the insert's promise settles, a tick after the rows reached the database.
    await until(async () => ((await metric('hunze_usage_records_written_total')) as number) >= 2_000);
    expect(db.statements).toBe(2);
    expect(db.requestIds).toEqual(range(0, 2_000));
    jest.advanceTimersByTime(USAGE_WRITER_LIMITS.flushIntervalMs - 1);
    expect(writer['spool']!.head).toBeUndefined(); // the rest is not sealed before the interval
    jest.advanceTimersByTime(1);
    expect(writer['spool']!.head?.records).toBe(500);
    await until(async () => ((await metric('hunze_usage_records_written_total')) as number) >= 2_500);
    expect(db.statements).toBe(3);
    expect(db.requestIds).toEqual(range(0, 2_500));
  });

  it('spools while the database refuses, then replays in order and writes directly again', async () => {
    db.state = 'failing';
    for (let i = 0; i < 30; i++) writer.enqueue(record(i));
    await until(() => events.includes('usage_spooling_started'));
    for (let i = 30; i < 60; i++) writer.enqueue(record(i));
    await until(() => readdirSync(join(dir, 'spool')).length > 0);
    await until(() => writer['spool']!.depth === 60);
    expect(await metric('hunze_usage_spool_depth')).toBe(60);
    expect(await metric('hunze_usage_writer_lag_seconds')).toBeGreaterThan(0);
    expect(db.requestIds).toEqual([]);

    db.recover();
    await until(() => events.includes('usage_spool_replayed'));
    // Rows 30-59 may still be in the active segment when the database recovers (it seals on its timer).
    await until(() => db.requestIds.length === 60);
    expect(db.requestIds).toEqual(range(0, 60));
    expect(await metric('hunze_usage_spool_depth')).toBe(0);
    await until(() => readdirSync(join(dir, 'spool')).length === 0);

    const statements = db.statements;
    writer.enqueue(record(60));
    await until(() => db.requestIds.length === 61);
    expect(db.statements).toBe(statements + 1);
  });

  it('gives up on a hanging insert after the timeout, holds one connection, and never duplicates', async () => {
    db.state = 'hanging';
    for (let i = 0; i < 10; i++) writer.enqueue(record(i));
    await until(() => events.includes('usage_spooling_started'));
    for (let i = 10; i < 20; i++) writer.enqueue(record(i));
    await until(() => writer['spool']!.depth === 20);
    // Several replay attempts while the first query hangs (each is a call of the pump).
    const attempts = jest.spyOn(writer as unknown as { pump(): void }, 'pump');
    await until(() => attempts.mock.calls.length >= 4);
    expect(db.maxInFlight).toBe(1);

    db.recover(); // the hung insert commits late; the replay inserts the same rows again
    await until(() => writer['spool']!.depth === 0 && db.requestIds.length === 20);
    expect(db.requestIds).toEqual(range(0, 20));
    expect(db.ids.size).toBe(20);
  });

  it('has every row on disk when enqueue returns: a SIGKILL then loses none, the next start inserts them', async () => {
    for (let i = 0; i < 25; i++) writer.enqueue(record(i));
    // No timer or I/O callback has run since: the spool directory is what a SIGKILL right now would leave.
    const crashed = mkdtempSync(join(tmpdir(), 'hunze-writer-crashed-'));
    cpSync(join(dir, 'spool'), join(crashed, 'spool'), { recursive: true });
    const restartedDb = new FakeDatabase();
    const quiet = new AppLogger('info', new Writable({ write: (_c, _e, done) => done() }));
    const restarted = await start(quiet, crashed, restartedDb);
    try {
      await until(() => restartedDb.requestIds.length === 25);
      expect(restartedDb.requestIds).toEqual(range(0, 25));
    } finally {
      await restarted.onApplicationShutdown();
      rmSync(crashed, { recursive: true, force: true });
    }
  });

  it('keeps writing from memory when the disk refuses, and says so once', async () => {
    rmSync(join(dir, 'spool'), { recursive: true });
    for (let i = 0; i < 2_500; i++) writer.enqueue(record(i));
    await until(() => db.requestIds.length === 2_500);
    expect(db.requestIds).toEqual(range(0, 2_500));
    expect(events.filter((e) => e === 'usage_spool_write_failed')).toHaveLength(1);
    expect(await metric('hunze_usage_records_dropped_total')).toBe(0);
  });

  it('shutdown writes what is queued; with the database gone, the spool keeps it for the next start', async () => {
    for (let i = 0; i < 5; i++) writer.enqueue(record(i));
    await writer.beforeApplicationShutdown();
    expect(db.requestIds).toEqual(range(0, 5));

    db.state = 'failing';
    for (let i = 5; i < 10; i++) writer.enqueue(record(i));
    await writer.onApplicationShutdown();
    expect(db.requestIds).toHaveLength(5);

    db.recover();
    writer = await start(new AppLogger('info', new Writable({ write: (_c, _e, done) => done() })));
    await until(() => db.requestIds.length === 10);
    expect(db.requestIds).toEqual(range(0, 10));
  });

  it('holds at most maxQueue rows in memory while an insert hangs; the rest come back from disk in order', async () => {
    Object.assign(USAGE_WRITER_LIMITS, { maxQueue: 50, batchSize: 10, insertTimeoutMs: 60_000 });
    db.state = 'hanging';
    for (let i = 0; i < 10; i++) writer.enqueue(record(i)); // the first batch hangs, not yet given up on
    await until(() => db.inFlight === 1);
    for (let i = 10; i < 200; i++) writer.enqueue(record(i));
    expect(writer['spool']!.held).toBeLessThanOrEqual(50);
    expect(await metric('hunze_usage_queue_depth')).toBe(200);
    db.recover();
    await until(() => writer['spool']!.depth === 0 && db.requestIds.length === 200);
    expect(db.requestIds).toEqual(range(0, 200));
  });
});
