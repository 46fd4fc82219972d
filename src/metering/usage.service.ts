// Usage per model, key, account or UTC day over a time range, summed in SQL from usage_records
// (UsageRecordsRepository), keys named by auth's KeysService. Usage is the
// API traffic of authenticated keys (/v1 and /v1beta routes): admin, health and metrics calls, and requests
// without a valid key, are not anyone's usage. Token counts are the upstream's own usage reports.
import { Inject, Injectable } from '@nestjs/common';
import { KeysService, type KeyLabel } from '../auth/keys.service';
import type { UsageGroup } from './dto/usage-query.dto';
import type { UsageQuery } from './usage-query';
import { UsageRecordsRepository, type UsageSummaryRow } from './usage-records.repository';

export interface UsageTotals {
  requests: number;
  /** Requests with an error status or an error inside a started stream (client disconnects included). */
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  audio_seconds: number;
}

export interface UsageRowDto extends UsageTotals {
  /** The model id, key id, account name or UTC day (YYYY-MM-DD); null when the records have none. */
  group: string | null;
  /** group_by=key only: the key's name, display prefix and account (null for the break-glass admin key). */
  key_name?: string | null;
  key_prefix?: string | null;
  account?: string | null;
}

export interface UsageReport {
  object: 'usage';
  from: string;
  to: string;
  group_by: UsageGroup;
  data: UsageRowDto[];
}

/** Sums arrive as bigint (a string from pg) or numeric types depending on the driver. */
function num(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** Byte order of the UTF-8 text, as PostgreSQL's "C" collation compares; null after every name. */
function byteOrder(a: string | null | undefined, b: string | null | undefined): number {
  if (a == null || b == null) return a == null ? (b == null ? 0 : 1) : -1;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Account, then key name, then key id (ties impossible: one row per key id). */
function byKeyOrder(a: UsageRowDto, b: UsageRowDto): number {
  return byteOrder(a.account, b.account) || byteOrder(a.key_name, b.key_name) || byteOrder(a.group, b.group);
}

function toDto(
  row: UsageSummaryRow,
  groupBy: UsageGroup,
  labels: ReadonlyMap<string, KeyLabel>,
): UsageRowDto {
  const dto: UsageRowDto = {
    group: str(row.group),
    requests: num(row.requests),
    errors: num(row.errors),
    prompt_tokens: num(row.prompt_tokens),
    completion_tokens: num(row.completion_tokens),
    total_tokens: num(row.total_tokens),
    audio_seconds: Math.round(num(row.audio_seconds) * 1000) / 1000,
  };
  if (groupBy !== 'key') return dto;
  const label = dto.group === null ? undefined : labels.get(dto.group);
  return {
    ...dto,
    key_name: label?.name ?? null,
    key_prefix: label?.prefix ?? null,
    account: str(row.account),
  };
}

@Injectable()
export class UsageService {
  constructor(
    @Inject(UsageRecordsRepository) private readonly records: UsageRecordsRepository,
    @Inject(KeysService) private readonly keys: KeysService,
  ) {}

  async report(query: UsageQuery): Promise<UsageReport> {
    const { groupBy } = query;
    const rows = await this.records.summary(groupBy, query.from, query.to);
    // Keys are named after summing: one lookup per key, not per record.
    const labels =
      groupBy === 'key' ? await this.keys.labels(rows.map((row) => str(row.group) ?? '')) : new Map();
    const data = rows.map((row) => toDto(row, groupBy, labels));
    if (groupBy === 'key') data.sort(byKeyOrder);
    return {
      object: 'usage',
      from: query.from.toISOString(),
      to: query.to.toISOString(),
      group_by: groupBy,
      data,
    };
  }
}

/** Column sums over a report's rows (the CLI's totals line). */
export function totalsOf(rows: readonly UsageTotals[]): UsageTotals {
  const total: UsageTotals = {
    requests: 0,
    errors: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
    total_tokens: 0,
    audio_seconds: 0,
  };
  for (const row of rows)
    for (const field of Object.keys(total) as (keyof UsageTotals)[]) total[field] += row[field];
  total.audio_seconds = Math.round(total.audio_seconds * 1000) / 1000;
  return total;
}
