// Receives one metadata record per finished request. For now it keeps running totals in memory and the
// access log; the batched usage_records writer (issue 6) plugs in here. It never blocks the caller.
import { Inject, Injectable } from '@nestjs/common';
import type { RequestMetadata } from '../compliance/request-metadata';
import { AppLogger } from '../telemetry/logger';

@Injectable()
export class MeteringService {
  private totals = { requests: 0, promptTokens: 0, completionTokens: 0 };

  constructor(@Inject(AppLogger) private readonly log: AppLogger) {}

  record(record: RequestMetadata): void {
    this.log.request(record);
    if (record.model === undefined) return;
    this.totals.requests += 1;
    this.totals.promptTokens += record.promptTokens ?? 0;
    this.totals.completionTokens += record.completionTokens ?? 0;
  }

  snapshot(): Readonly<typeof this.totals> {
    return { ...this.totals };
  }
}
