// One usage_records row per finished request, and the one statement that inserts a batch of them. The row's
// shape, columns and clamping come from the request record's schema (src/core/usage-columns.ts).
import { randomUUID } from 'node:crypto';
import type { RequestRecord } from '../core/request-record';
import { clampUsageRow, freshUsageRow, USAGE_COLUMNS, type UsageRow } from '../core/usage-columns';

export type { UsageRow } from '../core/usage-columns';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A new row for a finished request; its id is made here, so a replayed copy is recognised as the same row. */
export function toUsageRow(record: RequestRecord): UsageRow {
  return freshUsageRow(record, randomUUID());
}

/** A row read back from the spool, or undefined when the value is not one (a damaged line is skipped). */
export function parseUsageRow(value: unknown): UsageRow | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const id = (value as { id?: unknown }).id;
  if (typeof id !== 'string' || !UUID.test(id)) return undefined;
  return clampUsageRow(value, id);
}

/**
 * One statement per batch, whatever its size: the rows as one JSON array, read back as a record set with the
 * column types (one native JSON.stringify instead of an array literal per column, far less to allocate on
 * the gateway's process). A row already there (a batch that timed out but committed, then replayed from the
 * spool) is skipped.
 */
export const INSERT_USAGE_SQL = `INSERT INTO usage_records (${USAGE_COLUMNS.map((c) => c.column).join(', ')})
SELECT ${USAGE_COLUMNS.map((c) => `"${c.key}"`).join(', ')}
FROM json_to_recordset($1::json) AS row_(${USAGE_COLUMNS.map((c) => `"${c.key}" ${c.sqlType}`).join(', ')})
ON CONFLICT (id) DO NOTHING`;

export function insertUsageParams(rows: readonly UsageRow[]): [string] {
  return [JSON.stringify(rows)];
}
