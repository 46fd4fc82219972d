import { Module } from '@nestjs/common';
import { ReportEvidenceCollector } from './report-evidence';
import { ReportsService } from './reports.service';

/**
 * The report generators (DPA, TOM, sub-processors, record of processing) without their HTTP route, so
 * the CLI can use them too; ReportsHttpModule adds ReportsController. Needs the global AuditService and
 * KeysService.
 */
@Module({ providers: [ReportEvidenceCollector, ReportsService], exports: [ReportsService] })
export class ReportsModule {}
