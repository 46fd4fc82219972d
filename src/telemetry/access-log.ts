// The access log as a sink of request records: one metadata-only line per finished request (AppLogger.request).
import type { RecordSink } from '../core/record-sink';
import type { RequestRecord } from '../core/request-record';
import type { AppLogger } from './logger';

export class AccessLog implements RecordSink {
  readonly name = 'access log';

  constructor(private readonly log: AppLogger) {}

  take(record: RequestRecord): void {
    this.log.request(record);
  }
}
