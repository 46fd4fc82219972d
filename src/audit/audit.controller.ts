import { Controller, Get, Inject, Query } from '@nestjs/common';
import { Roles } from '../core/roles.decorator';
import { ApiError } from '../core/errors';
import { INSTANT_REASON, parseInstant } from '../core/iso-instant';
import { KnownQueryParams } from '../core/known-query.pipe';
import { AUDIT_ACTIONS, type AuditAction } from './audit-chain';
import { AuditService, toAuditDto, type AuditEventDto, type VerifyResult } from './audit.service';

const MAX_LIMIT = 1000;

function invalid(param: string, reason: string): ApiError {
  return new ApiError('invalid_request_error', { param, reason }, param);
}

function parseTime(param: string, value: unknown): Date | undefined {
  if (value === undefined) return undefined;
  const time = typeof value === 'string' ? parseInstant(value) : undefined;
  if (!time) throw invalid(param, INSTANT_REASON);
  return time;
}

function parseInt(param: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value) || +value < min || +value > max)
    throw invalid(param, `must be an integer from ${min} to ${max}`);
  return Number(value);
}

@Controller('admin/v1/audit')
@Roles('admin', 'dpo')
export class AuditController {
  constructor(@Inject(AuditService) private readonly audit: AuditService) {}

  /** `?from&to` (ISO times, to exclusive), `?action`, `?after` (seq, for paging), `?limit` (1–1000, 100). */
  @Get()
  async list(
    @Query(new KnownQueryParams('from', 'to', 'action', 'after', 'limit')) query: Record<string, unknown>,
  ): Promise<{ object: 'list'; data: AuditEventDto[]; has_more: boolean }> {
    const action = query.action;
    if (action !== undefined && !AUDIT_ACTIONS.includes(action as AuditAction))
      throw invalid('action', `must be one of ${AUDIT_ACTIONS.join(', ')}`);
    const { rows, hasMore } = await this.audit.list({
      from: parseTime('from', query.from),
      to: parseTime('to', query.to),
      action: action as AuditAction | undefined,
      after: parseInt('after', query.after, 0, Number.MAX_SAFE_INTEGER),
      limit: parseInt('limit', query.limit, 1, MAX_LIMIT) ?? 100,
    });
    return { object: 'list', data: rows.map(toAuditDto), has_more: hasMore };
  }

  @Get('verify')
  verify(): Promise<VerifyResult> {
    return this.audit.verify();
  }
}
