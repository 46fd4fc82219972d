// Usage per model, key, account or UTC day over a time range, summed in SQL from usage_records. Usage is the
// API traffic of authenticated keys (/v1 and /v1beta routes): admin, health and metrics calls, and requests
// without a valid key, are not anyone's usage. Token counts are the upstream's own usage reports.
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { KeysService, type KeyLabel } from '../auth/keys.service';
import type { UsageGroup } from './dto/usage-query.dto';
import type { UsageQuery } from './usage-query';

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

interface Grouping {
  /** What rows are grouped by. */
  key: string;
  /** The group's name in the answer, computed once per group rather than per row. */
  label: string;
  /** Byte order ("C" collation) for names: the same order on every database, whatever its locale. */
  order: string;
}

const UTC_DAY = `date_trunc('day', occurred_at AT TIME ZONE 'UTC')`;
const byName = (column: string): Grouping => ({
  key: column,
  label: column,
  order: `${column} COLLATE "C" NULLS LAST`,
});
const GROUPINGS: Readonly<Record<UsageGroup, Grouping>> = {
  model: byName('model'),
  account: byName('account'),
  key: byName('key_id'),
  day: { key: UTC_DAY, label: `to_char(${UTC_DAY}, 'YYYY-MM-DD')`, order: UTC_DAY },
};

/** One aggregate per group over the range; occurred_at is indexed, `to` is exclusive. */
function aggregateSql(grouping: Grouping): string {
  return `SELECT ${grouping.label} AS "group",
      count(*) AS requests,
      count(*) FILTER (WHERE status >= 400 OR error_code IS NOT NULL) AS errors,
      coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
      coalesce(sum(completion_tokens), 0) AS completion_tokens,
      coalesce(sum(coalesce(total_tokens, coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0))), 0)
        AS total_tokens,
      coalesce(sum(audio_seconds), 0) AS audio_seconds,
      min(account) AS account
    FROM usage_records
    WHERE occurred_at >= $1 AND occurred_at < $2
      AND key_id IS NOT NULL
      AND (endpoint LIKE '/v1/%' OR endpoint LIKE '/v1beta/%')
    GROUP BY ${grouping.key}`;
}

function reportSql(groupBy: UsageGroup): string {
  const grouping = GROUPINGS[groupBy];
  // By key, the rows are ordered once the keys' names are known (byKeyOrder).
  return groupBy === 'key' ? aggregateSql(grouping) : `${aggregateSql(grouping)} ORDER BY ${grouping.order}`;
}

type Row = Record<string, unknown>;

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

function toDto(row: Row, groupBy: UsageGroup, labels: ReadonlyMap<string, KeyLabel>): UsageRowDto {
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
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(KeysService) private readonly keys: KeysService,
  ) {}

  async report(query: UsageQuery): Promise<UsageReport> {
    const { groupBy } = query;
    const rows: Row[] = await this.dataSource.query(reportSql(groupBy), [
      query.from.toISOString(),
      query.to.toISOString(),
    ]);
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
