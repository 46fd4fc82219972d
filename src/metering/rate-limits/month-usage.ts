// The month's tokens so far per key and per account, from usage_records: the seed for the monthly quota
// counters at boot, so a restart does not hand every key a fresh quota. Two grouped sums over the month's
// rows, run once at start, never on a request.
import type { UsageRecordsRepository } from '../usage-records.repository';
import type { Scope } from './limit-rules';

export interface MonthUsage {
  scope: Scope;
  id: string;
  used: number;
}

export async function loadMonthUsage(records: UsageRecordsRepository, since: Date): Promise<MonthUsage[]> {
  const [keys, accounts] = [
    await records.tokensSince(since, 'key_id'),
    await records.tokensSince(since, 'account'),
  ];
  return [
    ...keys.map((r) => ({ scope: 'key' as const, ...r })),
    ...accounts.map((r) => ({ scope: 'account' as const, ...r })),
  ];
}
