// Retention for usage_records: once at start and hourly, deletes the rows older than retention.usageDays, in
// chunks so no single statement holds locks on millions of rows, and records what it deleted in the audit log
// (`usage.pruned`). Several replicas may run it at once: each deletes distinct rows and records its own count.
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { PeriodicJob } from '../core/periodic-job';
import { AuditService } from '../audit/audit.service';
import { HunzeConfig } from '../config/hunze-config';
import { AppLogger } from '../telemetry/logger';
import { UsageRecordsRepository } from './usage-records.repository';

export const USAGE_PRUNE_INTERVAL_MS = 3_600_000;
const CHUNK = 10_000;
/** Bounds one run (10 million rows); the next run continues. */
const MAX_CHUNKS = 1_000;
const DAY_MS = 86_400_000;

@Injectable()
export class UsageRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly job = new PeriodicJob(() => this.pruneNow(), USAGE_PRUNE_INTERVAL_MS);

  constructor(
    @Inject(UsageRecordsRepository) private readonly records: UsageRecordsRepository,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(HunzeConfig) private readonly config: HunzeConfig,
    @Inject(AppLogger) private readonly log: AppLogger,
  ) {}

  /** The first run is not awaited: a large backlog must not hold up the start. */
  onApplicationBootstrap(): void {
    void this.job.start();
  }

  onApplicationShutdown(): void {
    this.job.stop();
  }

  /** One retention run; failures are logged, never thrown (the next run retries). Returns rows deleted. */
  async pruneNow(now = Date.now()): Promise<number> {
    const usageDays = this.config.file.retention.usageDays;
    const before = new Date(now - usageDays * DAY_MS).toISOString();
    let records = 0;
    try {
      for (let chunk = 0; chunk < MAX_CHUNKS; chunk++) {
        const deleted = await this.records.deleteOlderThan(before, CHUNK);
        records += deleted;
        if (deleted < CHUNK) break;
      }
    } catch (err) {
      this.log.error('usage_prune_failed', err, { records });
    }
    if (records > 0) await this.recordPruned(records, before, usageDays);
    return records;
  }

  private async recordPruned(records: number, before: string, usageDays: number): Promise<void> {
    this.log.event('usage_pruned', { records });
    try {
      await this.audit.record({
        actor: 'system',
        action: 'usage.pruned',
        details: { records, before, usageDays },
      });
    } catch (err) {
      this.log.error('audit_record_failed', err);
    }
  }
}
