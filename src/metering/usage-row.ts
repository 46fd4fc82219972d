// One usage_records row as the writer queues, spools and inserts it, and the one statement that inserts a
// batch of them. Rows are built from the metadata record only and clamped to the column types, so no row can
// make a batch fail (a failing batch would otherwise be spooled and replayed forever).
import { randomUUID } from 'node:crypto';
import type { RequestMetadata } from '../core/request-metadata';

export interface UsageRow {
  id: string;
  requestId: string;
  occurredAt: string;
  account: string | null;
  keyId: string | null;
  model: string | null;
  upstream: string | null;
  endpoint: string;
  stream: boolean | null;
  status: number;
  errorCode: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  totalTokens: number | null;
  latencyMs: number;
  ttftMs: number | null;
  audioSeconds: number | null;
  failovers: number | null;
  cache: string | null;
}

const SMALLINT_MAX = 32_767;
const INTEGER_MAX = 2_147_483_647;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const NUL = /\0/g;

/**
 * Cut to the column's length, and made storable: Postgres text holds no NUL, and its JSON input (the insert's
 * one parameter) refuses a lone surrogate, which a cut through a pair or a client's `\ud800` would leave.
 */
function text(value: unknown, maxLength: number): string | null {
  if (typeof value !== 'string') return null;
  const cut = (value.length > maxLength ? value.slice(0, maxLength) : value).replace(NUL, '');
  return (cut as string & { toWellFormed(): string }).toWellFormed();
}

function int(value: unknown, max: number): number | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  return Math.min(Math.max(Math.round(value), -max - 1), max);
}

function real(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function timestamp(value: unknown): string {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : new Date().toISOString();
}

/** Clamps every field to its column type; the shape shared by fresh records and lines read back from the spool. */
function clamp(source: Readonly<Record<string, unknown>>, id: string): UsageRow {
  return {
    id,
    requestId: text(source.requestId, 128) ?? '',
    occurredAt: timestamp(source.occurredAt ?? source.time),
    account: text(source.account, 200),
    keyId: text(source.keyId, 64),
    model: text(source.model, 200),
    upstream: text(source.upstream, 100),
    endpoint: text(source.endpoint, 100) ?? 'unmatched',
    stream: typeof source.stream === 'boolean' ? source.stream : null,
    status: int(source.status, SMALLINT_MAX) ?? 0,
    errorCode: text(source.errorCode, 64),
    promptTokens: int(source.promptTokens, INTEGER_MAX),
    completionTokens: int(source.completionTokens, INTEGER_MAX),
    totalTokens: int(source.totalTokens, INTEGER_MAX),
    latencyMs: real(source.latencyMs) ?? 0,
    ttftMs: real(source.ttftMs),
    audioSeconds: real(source.audioSeconds),
    failovers: int(source.failovers, SMALLINT_MAX),
    cache: text(source.cache, 8),
  };
}

/** A new row for a finished request; its id is made here, so a replayed copy is recognised as the same row. */
export function toUsageRow(record: RequestMetadata): UsageRow {
  return clamp(record as unknown as Record<string, unknown>, randomUUID());
}

/** A row read back from the spool, or undefined when the value is not one (a damaged line is skipped). */
export function parseUsageRow(value: unknown): UsageRow | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const source = value as Record<string, unknown>;
  if (typeof source.id !== 'string' || !UUID.test(source.id)) return undefined;
  return clamp(source, source.id);
}

const COLUMNS: readonly [keyof UsageRow, string, string][] = [
  ['id', 'id', 'uuid'],
  ['requestId', 'request_id', 'varchar'],
  ['occurredAt', 'occurred_at', 'timestamptz'],
  ['account', 'account', 'varchar'],
  ['keyId', 'key_id', 'varchar'],
  ['model', 'model', 'varchar'],
  ['upstream', 'upstream', 'varchar'],
  ['endpoint', 'endpoint', 'varchar'],
  ['stream', 'stream', 'boolean'],
  ['status', 'status', 'smallint'],
  ['errorCode', 'error_code', 'varchar'],
  ['promptTokens', 'prompt_tokens', 'integer'],
  ['completionTokens', 'completion_tokens', 'integer'],
  ['totalTokens', 'total_tokens', 'integer'],
  ['latencyMs', 'latency_ms', 'real'],
  ['ttftMs', 'ttft_ms', 'real'],
  ['audioSeconds', 'audio_seconds', 'real'],
  ['failovers', 'failovers', 'smallint'],
  ['cache', 'cache', 'varchar'],
];

/**
 * One statement per batch, whatever its size: the rows as one JSON array, read back as a record set with the
 * column types (one native JSON.stringify instead of an array literal per column, far less to allocate on
 * the gateway's process). A row already there (a batch that timed out but committed, then replayed from the
 * spool) is skipped.
 */
export const INSERT_USAGE_SQL = `INSERT INTO usage_records (${COLUMNS.map(([, column]) => column).join(', ')})
SELECT ${COLUMNS.map(([field]) => `"${field}"`).join(', ')}
FROM json_to_recordset($1::json) AS row_(${COLUMNS.map(([field, , type]) => `"${field}" ${type}`).join(', ')})
ON CONFLICT (id) DO NOTHING`;

export function insertUsageParams(rows: readonly UsageRow[]): [string] {
  return [JSON.stringify(rows)];
}
