import { Module } from '@nestjs/common';
import { AuditService } from './audit.service';

/**
 * The audit log service alone, imported by the modules that record or read events (key management, usage
 * retention, reports, the CLI). The HTTP routes, boot event and retention job are in AuditHttpModule.
 */
@Module({ providers: [AuditService], exports: [AuditService] })
export class AuditModule {}
