// SKELETON (issue 6, helper A fills this in): batches usage records off the hot path into usage_records,
// spooling to disk while the database is unavailable.
import { Injectable } from '@nestjs/common';
import type { RequestMetadata } from '../compliance/request-metadata';

@Injectable()
export class UsageWriter {
  /** Called once per finished request; never blocks and never throws. */
  enqueue(_record: RequestMetadata): void {}
}
