// The first sink of every request's record: its usage_records row, journaled to disk at once by the writer
// (usage-writer.ts), which the recorder calls before the response's last bytes go out.
import { Inject, Injectable } from '@nestjs/common';
import type { RecordSink } from '../core/record-sink';
import type { RequestRecord } from '../core/request-record';
import { UsageWriter } from './usage-writer';

/**
 * Probes, scrapes and the console's static files are not usage: HAProxy alone probes /readyz every few seconds
 * per replica, which would be tens of thousands of rows a day. They are still logged and counted in metrics.
 */
const NOT_USAGE = /^\/(healthz|readyz|metrics|console)(\/|$)/;

@Injectable()
export class UsageJournal implements RecordSink {
  readonly name = 'usage journal';

  constructor(@Inject(UsageWriter) private readonly writer: UsageWriter) {}

  take(record: RequestRecord): void {
    if (!NOT_USAGE.test(record.endpoint)) this.writer.enqueue(record);
  }
}
