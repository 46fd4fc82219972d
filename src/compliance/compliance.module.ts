import { Module } from '@nestjs/common';
import { AuditLifecycle } from './audit-lifecycle.service';
import { AuditController } from './audit.controller';
import { AuditModule } from './audit.module';
import { ReportsController } from './reports/reports.controller';
import { ReportsModule } from './reports/reports.module';

/**
 * Residency guard, audit log and report generators (issues 5 and 7). The residency boot check runs in
 * config validation (src/config/config.consistency.ts, using ./regions.ts); the metadata record is declared
 * in src/core/request-record.ts. The audit log: AuditService (./audit.module.ts, global, used by key
 * management and the CLI), its admin routes, the boot `config.loaded` event and the retention job. Reports:
 * ./reports/ (ReportsModule, also used by the CLI) and their admin route.
 */
@Module({
  imports: [AuditModule, ReportsModule],
  controllers: [AuditController, ReportsController],
  providers: [AuditLifecycle],
  exports: [AuditModule],
})
export class ComplianceModule {}
