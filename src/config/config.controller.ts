import { Controller, Get, Inject } from '@nestjs/common';
import { Roles } from '../core/roles.decorator';
import { HunzeConfig } from './hunze-config';

/**
 * `GET /admin/v1/config`: the effective configuration for admins and the DPO. Secrets appear only as their
 * `env:NAME` reference (or `<redacted>` when written literally), never as their values.
 */
@Controller('admin/v1/config')
export class ConfigController {
  constructor(@Inject(HunzeConfig) private readonly config: HunzeConfig) {}

  @Get()
  @Roles('admin', 'dpo')
  show(): { fingerprint: string; sourcePath: string; config: unknown } {
    return {
      fingerprint: this.config.fingerprint,
      sourcePath: this.config.sourcePath,
      config: this.config.redactedDocument,
    };
  }
}
