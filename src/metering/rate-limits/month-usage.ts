// The month's tokens so far per key and per account, from usage_records: the seed for the monthly quota
// counters at boot, so a restart does not hand every key a fresh quota. Two grouped sums over the month's
// rows, run once at start, never on a request.
import type { DataSource } from 'typeorm';
import type { Scope } from './limit-rules';

export interface MonthUsage {
  scope: Scope;
  id: string;
  used: number;
}

interface UsageRow {
  id: string;
  used: string | number;
}

export async function loadMonthUsage(dataSource: DataSource, since: Date): Promise<MonthUsage[]> {
  const sum = (column: 'key_id' | 'account') =>
    dataSource.query<UsageRow[]>(
      `SELECT ${column} AS id, SUM(total_tokens)::text AS used FROM usage_records
       WHERE occurred_at >= $1 AND ${column} IS NOT NULL AND total_tokens > 0 GROUP BY ${column}`,
      [since.toISOString()],
    );
  const [keys, accounts] = [await sum('key_id'), await sum('account')];
  return [
    ...keys.map((r) => ({ scope: 'key' as const, id: r.id, used: Number(r.used) })),
    ...accounts.map((r) => ({ scope: 'account' as const, id: r.id, used: Number(r.used) })),
  ];
}
