// Receives one metadata record per finished request and hands it to everything that counts: the access log,
// Prometheus metrics, the rate limiter's token windows and the usage_records writer. It never blocks the
// caller and nothing it calls touches the database on this path (the writer only enqueues).
import { Inject, Injectable } from '@nestjs/common';
import type { RequestMetadata } from '../core/request-metadata';
import { AppLogger } from '../telemetry/logger';
import { MetricsService } from './metrics.service';
import { RateLimits } from './rate-limits/rate-limits.service';
import { UsageWriter } from './usage-writer';

/**
 * Probes, scrapes and the console's static files are not usage: HAProxy alone probes /readyz every few seconds
 * per replica, which would be tens of thousands of rows a day. They are still logged and counted in metrics.
 */
const NOT_USAGE = /^\/(healthz|readyz|metrics|console)(\/|$)/;

@Injectable()
export class MeteringService {
  constructor(
    @Inject(AppLogger) private readonly log: AppLogger,
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(RateLimits) private readonly limits: RateLimits,
    @Inject(UsageWriter) private readonly writer: UsageWriter,
  ) {}

  record(record: RequestMetadata): void {
    this.journal(record);
    this.observe(record);
  }

  /** The usage row, journaled to disk at once: call before the response's last bytes go out. */
  journal(record: RequestMetadata): void {
    if (!NOT_USAGE.test(record.endpoint)) this.writer.enqueue(record);
  }

  /** Log line, metrics and token charge: nothing a crash must keep, so it can follow the response. */
  observe(record: RequestMetadata): void {
    this.log.request(record);
    this.metrics.observe(record);
    this.limits.consume(record);
  }
}
