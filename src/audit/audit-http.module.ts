import { Module } from '@nestjs/common';
import { AuditLifecycle } from './audit-lifecycle.service';
import { AuditController } from './audit.controller';
import { AuditModule } from './audit.module';

/**
 * The audit log as the HTTP appliance runs it: AuditService (./audit.module.ts, imported by key
 * management and the CLI), its admin routes, the boot `config.loaded` event and the retention job.
 */
@Module({
  imports: [AuditModule],
  controllers: [AuditController],
  providers: [AuditLifecycle],
  exports: [AuditModule],
})
export class AuditHttpModule {}
