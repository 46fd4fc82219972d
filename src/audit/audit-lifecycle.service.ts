// Server-side audit duties: the `config.loaded` event at boot (with the config fingerprint), a
// `residency.violation` event per refusal published on `residencyEvents` (the same upstream, reason and
// address at most once a minute, with the count of repeats), and the retention job that prunes rows older
// than `retention.auditDays` (hourly, first run at boot).
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { PeriodicJob } from '../core/periodic-job';
import { HunzeConfig } from '../config/hunze-config';
import { AppLogger } from '../telemetry/logger';
import { AuditService } from './audit.service';
import { residencyEvents, type ResidencyViolation } from '../residency/residency-connector';

export const AUDIT_PRUNE_INTERVAL_MS = 3_600_000;
/** Repeats of one violation (a health probe every few seconds) within this window are counted, not written. */
export const VIOLATION_WINDOW_MS = 60_000;
const MAX_TRACKED_VIOLATIONS = 1000;

@Injectable()
export class AuditLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly pruneJob = new PeriodicJob(() => this.pruneNow(), AUDIT_PRUNE_INTERVAL_MS);
  private unsubscribe: (() => void) | undefined;
  /** Per violation key: when it was last written and how many repeats were skipped since. */
  private readonly recent = new Map<string, { at: number; repeats: number }>();

  constructor(
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(HunzeConfig) private readonly config: HunzeConfig,
    @Inject(AppLogger) private readonly log: AppLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.unsubscribe = residencyEvents.subscribe((v) => this.onViolation(v));
    await this.audit.record({
      actor: 'system',
      action: 'config.loaded',
      details: { fingerprint: this.config.fingerprint },
    });
    await this.pruneJob.start();
  }

  onApplicationShutdown(): void {
    this.pruneJob.stop();
    this.unsubscribe?.();
  }

  /** Off the request path: the append is not awaited; a failure is logged. */
  onViolation(violation: ResidencyViolation, now = Date.now()): void {
    const key = `${violation.upstream}|${violation.reason}|${violation.address ?? ''}`;
    const seen = this.recent.get(key);
    if (seen && now - seen.at < VIOLATION_WINDOW_MS) {
      seen.repeats++;
      return;
    }
    if (!seen && this.recent.size >= MAX_TRACKED_VIOLATIONS) this.recent.clear();
    this.recent.set(key, { at: now, repeats: 0 });
    this.audit
      .record({
        actor: 'system',
        action: 'residency.violation',
        target: violation.upstream,
        details: {
          reason: violation.reason,
          ...(violation.family ? { family: violation.family } : {}),
          ...(violation.address ? { address: violation.address } : {}),
          ...(seen ? { repeatsSincePrevious: seen.repeats } : {}),
        },
      })
      .catch((err: unknown) => this.log.error('audit_record_failed', err));
  }

  /** One retention run; failures are logged, never thrown (the next run retries). */
  async pruneNow(): Promise<void> {
    try {
      const { pruned, lastSeq } = await this.audit.prune();
      if (pruned > 0) this.log.event('audit_pruned', { pruned, lastSeq });
    } catch (err) {
      this.log.error('audit_prune_failed', err);
    }
  }
}
