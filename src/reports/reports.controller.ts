import { Controller, Get, Inject, Param, Query, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Answer } from '../core/answer';
import { Roles } from '../core/roles.decorator';
import { ApiError } from '../core/errors';
import { KnownQueryParams } from '../core/known-query.pipe';
import { isReportFormat, isReportName, REPORT_FORMATS } from './report-model';
import { ReportsService } from './reports.service';

/** `GET /admin/v1/reports/{dpa|tom|subprocessors|ropa}?format=md|html|pdf|json` (default md), as a download. */
@Controller('admin/v1/reports')
@Roles('admin', 'dpo')
export class ReportsController {
  constructor(@Inject(ReportsService) private readonly reports: ReportsService) {}

  @Get(':name')
  async export(
    @Param('name') name: string,
    @Query(new KnownQueryParams('format')) query: Record<string, unknown>,
    @Req() req: FastifyRequest,
  ): Promise<Answer> {
    if (!isReportName(name)) throw new ApiError('not_found');
    const chosen = query.format ?? 'md';
    if (!isReportFormat(chosen))
      throw new ApiError(
        'invalid_request_error',
        { param: 'format', reason: `must be one of ${REPORT_FORMATS.join(', ')}` },
        'format',
      );
    const report = await this.reports.export(name, chosen, req.principal!.keyId);
    return Answer.bytes(report.body, report.contentType, {
      headers: {
        'content-disposition': `attachment; filename="${report.fileName}"`,
        'cache-control': 'no-store',
      },
    });
  }
}
