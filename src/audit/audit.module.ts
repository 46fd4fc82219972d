import { Global, Module } from '@nestjs/common';
import { AuditService } from './audit.service';

/**
 * The audit log service alone, global so key management (src/auth), the residency guard and the CLI can
 * record events. The HTTP routes, boot event and retention job are in AuditHttpModule.
 */
@Global()
@Module({ providers: [AuditService], exports: [AuditService] })
export class AuditModule {}
