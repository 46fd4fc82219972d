// Live latency per upstream: an exponentially weighted moving average of the time to first byte (for a
// stream the first event, for a plain answer the whole answer: the first byte the client can use), taken
// from each finished request's record (a sink of the request recorder). A timeout counts as a sample of the
// time waited. Model "auto" reads it.
import { Injectable } from '@nestjs/common';
import type { RecordSink } from '../core/record-sink';
import type { RequestRecord } from '../core/request-record';

/** Weight of the newest sample: about the last ten requests dominate. */
export const LATENCY_EWMA_ALPHA = 0.2;

@Injectable()
export class UpstreamLatency implements RecordSink {
  readonly name = 'upstream latency';
  private readonly ewma = new Map<string, number>();

  take(record: RequestRecord): void {
    if (!record.upstream || record.cache === 'hit') return;
    if (record.ttftMs !== undefined) this.observe(record.upstream, record.ttftMs);
    else if (record.errorCode === 'upstream_timeout') this.observe(record.upstream, record.latencyMs);
  }

  observe(upstreamId: string, ms: number): void {
    const previous = this.ewma.get(upstreamId);
    this.ewma.set(upstreamId, previous === undefined ? ms : previous + LATENCY_EWMA_ALPHA * (ms - previous));
  }

  /** Milliseconds; undefined until the upstream has answered once. */
  get(upstreamId: string): number | undefined {
    return this.ewma.get(upstreamId);
  }
}
