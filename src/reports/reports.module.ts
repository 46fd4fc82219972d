import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { ReportEvidenceCollector } from './report-evidence';
import { ReportsService } from './reports.service';

/**
 * The report generators (DPA, TOM, sub-processors, record of processing) without their HTTP route, so
 * the CLI can use them too; ReportsHttpModule adds ReportsController. Reads keys through AuthModule's
 * KeysService and the audit log through AuditModule's AuditService.
 */
@Module({
  imports: [AuditModule, AuthModule],
  providers: [ReportEvidenceCollector, ReportsService],
  exports: [ReportsService],
})
export class ReportsModule {}
