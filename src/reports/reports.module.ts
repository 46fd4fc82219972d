import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ReportEvidenceCollector } from './report-evidence';
import { ReportsService } from './reports.service';

/**
 * The report generators (DPA, TOM, sub-processors, record of processing) without their HTTP route, so
 * the CLI can use them too; ReportsHttpModule adds ReportsController. Needs the audit log and the global
 * KeysService.
 */
@Module({
  imports: [AuditModule],
  providers: [ReportEvidenceCollector, ReportsService],
  exports: [ReportsService],
})
export class ReportsModule {}
