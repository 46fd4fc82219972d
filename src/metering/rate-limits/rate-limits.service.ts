// SKELETON (issue 6, helper B fills this in): per-key and per-account rpm, tpm and monthly token quotas.
import { Injectable } from '@nestjs/common';
import type { RequestMetadata } from '../../compliance/request-metadata';

@Injectable()
export class RateLimits {
  /** Called once per finished request with the upstream's token counts; never blocks and never throws. */
  consume(_record: RequestMetadata): void {}
}
