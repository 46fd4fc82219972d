import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Roles } from '../core/roles.decorator';
import { KnownQueryParams } from '../core/known-query.pipe';
import { USAGE_PARAMS } from './dto/usage-query.dto';
import { usageToCsv } from './usage-format';
import { formatOf, resolveUsageQuery, validateUsageQuery } from './usage-query';
import { UsageService, type UsageReport } from './usage.service';

/** `GET /admin/v1/usage?from&to&group_by&format`: usage sums for billing (admin and the DPO, read-only). */
@Controller('admin/v1/usage')
@Roles('admin', 'dpo')
export class UsageController {
  constructor(@Inject(UsageService) private readonly usage: UsageService) {}

  @Get()
  async report(
    @Query(new KnownQueryParams(...USAGE_PARAMS)) raw: Record<string, unknown>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<UsageReport | string> {
    const dto = validateUsageQuery(raw);
    const report = await this.usage.report(resolveUsageQuery(dto));
    if (formatOf(dto) === 'json') return report;
    const day = (iso: string) => iso.slice(0, 10);
    void reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header(
        'content-disposition',
        `attachment; filename="hunze-usage-${report.group_by}-${day(report.from)}-${day(report.to)}.csv"`,
      );
    return usageToCsv(report);
  }
}
