// Turns the usage query parameters (API and CLI alike) into a checked UTC range and grouping. Dates are read
// in UTC whatever the server's time zone, so the same query gives the same bill on every replica.
import { ApiError } from '../core/errors';
import { INSTANT_REASON, parseInstant } from '../core/iso-instant';
import { BodyValidationPipe } from '../core/validation.pipe';
import { UsageQueryDto, type UsageFormat, type UsageGroup } from './dto/usage-query.dto';

export interface UsageQuery {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  groupBy: UsageGroup;
}

/** The longest range one query may cover: a leap year. Longer periods are queried year by year. */
export const MAX_RANGE_DAYS = 366;
const DAY_MS = 86_400_000;

function invalid(param: string, reason: string): ApiError {
  return new ApiError('invalid_request_error', { param, reason }, param);
}

/** Checks the raw parameters against the DTO; an unknown parameter is named as `query`, never by its name. */
export function validateUsageQuery(raw: unknown): UsageQueryDto {
  try {
    return new BodyValidationPipe(UsageQueryDto, true).transform(raw);
  } catch (err) {
    if (err instanceof ApiError && err.param === 'body')
      throw invalid('query', 'has a parameter that is not accepted');
    throw err;
  }
}

export { parseInstant };

function instant(param: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const parsed = parseInstant(value);
  if (!parsed) throw invalid(param, INSTANT_REASON);
  return parsed;
}

/** The first instant of the UTC month that holds `time`. */
export function startOfUtcMonth(time: Date): Date {
  return new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), 1));
}

/**
 * Defaults: `to` = now; `from` = the start of the UTC month that `to` falls in (the month up to `to` when
 * only `to` is given, so `to=2026-02-01` is January). `to` is exclusive and must come after `from`.
 */
export function resolveUsageQuery(dto: UsageQueryDto, now = new Date()): UsageQuery {
  const explicitTo = instant('to', dto.to);
  const from = instant('from', dto.from) ?? startOfUtcMonth(new Date((explicitTo ?? now).getTime() - 1));
  const to = explicitTo ?? now;
  // A problem is named on the parameter the caller gave: `to` when both were given.
  const blamed = explicitTo ? 'to' : 'from';
  const span = to.getTime() - from.getTime();
  if (span <= 0) throw invalid(blamed, blamed === 'to' ? 'must be after from' : 'must be in the past');
  if (span > MAX_RANGE_DAYS * DAY_MS)
    throw invalid(blamed, `must be at most ${MAX_RANGE_DAYS} days from the other end of the range`);
  return { from, to, groupBy: dto.group_by ?? 'model' };
}

export function formatOf(dto: UsageQueryDto): UsageFormat {
  return dto.format ?? 'json';
}
