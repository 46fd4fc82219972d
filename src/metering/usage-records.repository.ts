// The usage_records table's one door: every statement on it is here, as SQL (see docs/architecture.md,
// "Persistence"): the batch insert (UsageStore), the report's aggregates (UsageService), the month's tokens
// that seed the quotas (RateLimits) and the retention delete (UsageRetention).
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { UsageGroup } from './dto/usage-query.dto';
import { INSERT_USAGE_SQL, insertUsageParams, type UsageRow } from './usage-row';

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

/** By key, rows are left unordered: the caller orders them by the keys' names, which this table lacks. */
function summarySql(groupBy: UsageGroup): string {
  const grouping = GROUPINGS[groupBy];
  return groupBy === 'key' ? aggregateSql(grouping) : `${aggregateSql(grouping)} ORDER BY ${grouping.order}`;
}

const DELETE_CHUNK = `WITH doomed AS (SELECT id FROM usage_records WHERE occurred_at < $1 LIMIT $2),
  gone AS (DELETE FROM usage_records u USING doomed d WHERE u.id = d.id RETURNING 1)
SELECT count(*)::int AS n FROM gone`;

/** One group's sums as the database returns them (bigint sums arrive as strings from pg). */
export type UsageSummaryRow = Record<string, unknown>;

export interface MonthTokens {
  id: string;
  used: number;
}

@Injectable()
export class UsageRecordsRepository {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /** False once the connection is closed (at shutdown): an insert then fails at once. */
  get open(): boolean {
    return this.dataSource.isInitialized;
  }

  /** Inserts the rows in one statement; a row whose id is already there is skipped. */
  async insert(rows: readonly UsageRow[]): Promise<void> {
    await this.dataSource.query(INSERT_USAGE_SQL, insertUsageParams(rows));
  }

  /** One row per group over [from, to): the API traffic of authenticated keys only. */
  summary(groupBy: UsageGroup, from: Date, to: Date): Promise<UsageSummaryRow[]> {
    return this.dataSource.query(summarySql(groupBy), [from.toISOString(), to.toISOString()]);
  }

  /** Tokens since `since` per key id or per account name, for those with any. */
  async tokensSince(since: Date, per: 'key_id' | 'account'): Promise<MonthTokens[]> {
    const rows = await this.dataSource.query<{ id: string; used: string | number }[]>(
      `SELECT ${per} AS id, SUM(total_tokens)::text AS used FROM usage_records
       WHERE occurred_at >= $1 AND ${per} IS NOT NULL AND total_tokens > 0 GROUP BY ${per}`,
      [since.toISOString()],
    );
    return rows.map((r) => ({ id: r.id, used: Number(r.used) }));
  }

  /** Deletes up to `limit` rows older than `before`; returns how many it deleted. */
  async deleteOlderThan(before: string, limit: number): Promise<number> {
    const rows = await this.dataSource.query<{ n: number }[]>(DELETE_CHUNK, [before, limit]);
    return Number(rows[0]?.n ?? 0);
  }
}
