// Writes one usage_records row per finished request without the request ever waiting for the database.
// enqueue() appends the row to the disk spool synchronously (UsageSpool: a journal that survives a crash of
// this process the moment enqueue returns) and keeps it in memory; a segment of the spool is sealed at
// `batchSize` rows or `flushIntervalMs` after its first, and the pump inserts sealed segments oldest first,
// one statement each (UsageStore), deleting each once it is in. When an insert fails or times out, the pump
// retries the same segment with back-off while newer ones wait behind it on disk, so rows arrive in order.
// Segments a crash left behind are inserted at the next start before any new one. Shutdown inserts what is
// sealed unless the database is failing; whatever is not in stays on disk for the next start.
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { join } from 'node:path';
import type { RequestRecord } from '../core/request-record';
import { HunzeConfig } from '../config/hunze-config';
import { AppLogger } from '../telemetry/logger';
import { MetricsService } from './metrics.service';
import { UsageRecordsRepository } from './usage-records.repository';
import { toUsageRow } from './usage-row';
import { UsageSpool, type Segment } from './usage-spool';
import { UsageStore } from './usage-store';
import { UsageWriterMetrics } from './usage-writer.metrics';

export const USAGE_WRITER_LIMITS = {
  /** Rows per spool segment and per INSERT. */
  batchSize: 1_000,
  flushIntervalMs: 200,
  insertTimeoutMs: 2_000,
  /** Rows held in memory beyond this many are read back from the spool when their turn comes. */
  maxQueue: 200_000,
  retryMinDelayMs: 1_000,
  retryMaxDelayMs: 5_000,
};

@Injectable()
export class UsageWriter
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly limits = USAGE_WRITER_LIMITS;
  private readonly store: UsageStore;
  private readonly metrics: UsageWriterMetrics;
  private spool: UsageSpool | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private pumpSoon: NodeJS.Immediate | undefined;
  private pumping: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = this.limits.retryMinDelayMs;
  /** An insert failed (or a crash left segments) and the pump has not caught up since. */
  private backlog = false;
  private replayed = 0;
  private closed = false;

  constructor(
    @Inject(UsageRecordsRepository) records: UsageRecordsRepository,
    @Inject(HunzeConfig) private readonly config: HunzeConfig,
    @Inject(MetricsService) metrics: MetricsService,
    @Inject(AppLogger) private readonly log: AppLogger,
  ) {
    this.store = new UsageStore(records, this.limits.insertTimeoutMs, () => this.retryNow());
    this.metrics = new UsageWriterMetrics(metrics.registry, {
      queueDepth: () => this.spool?.depth ?? 0,
      spoolDepth: () => (this.backlog ? (this.spool?.depth ?? 0) : 0),
      oldestUnwritten: () => this.spool?.oldestOccurredAt,
    });
  }

  /** Called once per finished request; the row is on disk when it returns. Never awaits, never throws. */
  enqueue(record: RequestRecord): void {
    try {
      if (!this.spool) throw new Error('usage spool not open');
      const records = this.spool.append(toUsageRow(record));
      if (records >= this.limits.batchSize) this.seal();
      else this.flushTimer ??= setTimeout(() => this.seal(), this.limits.flushIntervalMs).unref();
    } catch (err) {
      this.log.error('usage_enqueue_failed', err);
    }
  }

  async onModuleInit(): Promise<void> {
    this.spool = await UsageSpool.open(join(this.config.dataDir, 'spool'), (err) => {
      this.metrics.failures.inc();
      this.log.error('usage_spool_write_failed', err);
    });
  }

  /** Segments a crash left are inserted before anything new (order). */
  onApplicationBootstrap(): void {
    if (this.spool?.head) {
      this.backlog = true;
      this.pump();
    }
  }

  /** Before the HTTP server closes: what is queued now goes out while the database surely is still open. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.drain();
  }

  /**
   * After the HTTP server closed. MeteringModule is registered after DatabaseModule, so Nest calls this before
   * it destroys the DataSource; if that order ever changed, the rows would stay in the spool, not be lost.
   */
  async onApplicationShutdown(): Promise<void> {
    // The server's close completes when its connections are destroyed, but a destroyed socket emits 'close'
    // (and with it its request's metadata record) only in the event loop's close phase: let it pass twice.
    for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setTimeout(resolve, 0));
    await this.drain();
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.flushTimer);
    clearImmediate(this.pumpSoon);
    await this.pumping;
    this.spool?.close();
  }

  /**
   * Seals what is queued and inserts every sealed segment now, unless the database is failing (then the rows
   * wait in the spool for the pump's retry or the next start).
   */
  async drain(): Promise<void> {
    this.seal();
    while (this.spool?.head && !this.backlog) {
      this.pump();
      if (!this.pumping) return;
      await this.pumping;
    }
  }

  /** Seals the active segment; the pump takes it on the next turn of the event loop. */
  private seal(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.spool) return;
    this.spool.seal();
    const dropped = this.spool.trimMemory(this.limits.maxQueue);
    if (dropped > 0) {
      this.metrics.dropped.inc(dropped);
      this.log.error('usage_records_dropped', new Error('neither database nor disk took them'), {
        records: dropped,
      });
    }
    this.pumpSoon ??= setImmediate(() => {
      this.pumpSoon = undefined;
      this.pump();
    });
  }

  /** Starts inserting sealed segments unless that is under way or backing off after a failure. */
  private pump(): void {
    if (this.pumping || this.retryTimer || this.closed || !this.spool) return;
    this.pumping = this.insertSealed(this.spool).finally(() => (this.pumping = undefined));
  }

  private async insertSealed(spool: UsageSpool): Promise<void> {
    for (let segment = spool.head; segment && !this.closed; segment = spool.head) {
      // An insert given up on is still hanging: wait for it to settle (retryNow) or for the back-off.
      if (this.store.busy) return this.retryLater();
      try {
        await this.insertSegment(spool, segment);
      } catch {
        this.metrics.failures.inc();
        if (!this.backlog) this.log.warn('usage_spooling_started', { records: spool.depth });
        this.backlog = true;
        return this.retryLater();
      }
    }
    if (this.backlog && !spool.head) {
      this.backlog = false;
      this.log.event('usage_spool_replayed', { records: this.replayed });
      this.replayed = 0;
    }
  }

  private async insertSegment(spool: UsageSpool, segment: Segment): Promise<void> {
    const rows = await spool.rowsOf(segment);
    for (let from = 0; from < rows.length; from += this.limits.batchSize)
      await this.store.insert(rows.slice(from, from + this.limits.batchSize));
    await spool.removeHead();
    this.retryDelayMs = this.limits.retryMinDelayMs;
    this.metrics.written.inc(rows.length);
    if (this.backlog) this.replayed += rows.length;
  }

  private retryLater(): void {
    if (this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, this.retryDelayMs).unref();
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.limits.retryMaxDelayMs);
  }

  /** A query given up on has settled: the database answers again. */
  private retryNow(): void {
    if (!this.retryTimer) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.pump();
  }
}
