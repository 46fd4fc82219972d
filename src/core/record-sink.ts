// Where a finished request's record goes: the usage journal, the access log, Prometheus, OpenTelemetry, the
// rate limiter's token charge, the upstream latency average. Declared here, below every layer that has a sink;
// the request recorder (metering/request-recorder.ts) gets them, in their order, from http.module.ts.
import type { RequestRecord } from './request-record';

export interface RecordSink {
  /** Names the sink in the log line when it throws. */
  readonly name: string;
  /** Called once per finished request, synchronously; must not block (queue, count, or enqueue). */
  take(record: RequestRecord): void;
}
