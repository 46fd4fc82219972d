// The usage_records row derived from the request record's schema: its type, its columns with their SQL types,
// and the clamping that makes any value storable, so no row can make a batch fail (a failing batch would
// otherwise be spooled and replayed forever).
import {
  RECORD_FIELDS,
  type FieldSpec,
  type RecordField,
  type RecordFieldName,
  type RequestRecord,
  type Simplify,
  type ValueOf,
} from './request-record';

type StoredField = Extract<RecordField, { column: string }>;
type RowKeyOf<F extends StoredField> = F extends { rowKey: infer K extends string } ? K : F['name'];

/** One usage_records row as the writer queues, spools (one JSON line) and inserts it. */
export type UsageRow = Simplify<
  { id: string } & {
    [F in StoredField as RowKeyOf<F>]: F extends { orElse: string | number } ? ValueOf<F> : ValueOf<F> | null;
  }
>;

export interface UsageColumn {
  /** The row's key, and the name of the insert's JSON record set column. */
  readonly key: string;
  readonly column: string;
  readonly sqlType: string;
}

const SQL_TYPES: Readonly<Record<FieldSpec['kind'], string>> = {
  text: 'varchar',
  enum: 'varchar',
  smallint: 'smallint',
  integer: 'integer',
  real: 'real',
  boolean: 'boolean',
  timestamp: 'timestamptz',
};

const STORED: readonly FieldSpec[] = RECORD_FIELDS.filter((f: FieldSpec) => f.column !== undefined);

/** The row id first (made by the gateway, so a replayed row is recognised), then the stored fields in order. */
export const USAGE_COLUMNS: readonly UsageColumn[] = [
  { key: 'id', column: 'id', sqlType: 'uuid' },
  ...STORED.map((f) => ({ key: f.rowKey ?? f.name, column: f.column!, sqlType: SQL_TYPES[f.kind] })),
];

const SMALLINT_MAX = 32_767;
const INTEGER_MAX = 2_147_483_647;
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

function timestamp(value: unknown): string | null {
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

/** The value as its column can hold it, or null. */
function clampValue(field: FieldSpec, value: unknown): string | number | boolean | null {
  switch (field.kind) {
    case 'text':
      return text(value, field.maxLength);
    case 'enum':
      return typeof value === 'string' && field.values.includes(value) ? value : null;
    case 'smallint':
      return int(value, SMALLINT_MAX);
    case 'integer':
      return int(value, INTEGER_MAX);
    case 'real':
      return typeof value === 'number' && Number.isFinite(value) ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'timestamp':
      return timestamp(value);
  }
}

function orElse(field: FieldSpec): string | number | null {
  if (field.orElse === 'now' && field.kind === 'timestamp') return new Date().toISOString();
  return field.orElse ?? null;
}

/**
 * Clamps every stored field to its column type. The source is a fresh record (fields under their names) or a
 * row read back from the spool (under their row keys): both are clamped the same way.
 */
export function clampUsageRow(source: object, id: string): UsageRow {
  const values = source as Readonly<Record<string, unknown>>;
  const row: Record<string, unknown> = { id };
  for (const field of STORED) {
    const key = field.rowKey ?? field.name;
    row[key] = clampValue(field, values[key] ?? values[field.name]) ?? orElse(field);
  }
  return row as UsageRow;
}

// A fresh record's row (toUsageRow, once per request): the same row as clampUsageRow's, byte for byte
// (usage-columns.spec.ts compares them on random records), by a shorter path. A value its column already holds
// as it is (text short enough with no NUL and no surrogate, an integer in range, an instant as toISOString
// writes it) is taken without a copy; any other goes through the clamp above.

/** What `text` would change: a NUL, or a surrogate (paired or not; a pair takes the long way, unchanged). */
const MAYBE_UNSTORABLE = /[\0\ud800-\udfff]/;
/**
 * An instant exactly as toISOString writes it, on a day its month has in every year: Date.parse and
 * toISOString give it back unchanged. 29 February (and anything else) takes the long way.
 */
const CANONICAL_INSTANT =
  /^\d{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

type Clamp<T> = (value: unknown) => T;

function storedField(name: RecordFieldName): FieldSpec {
  return STORED.find((f) => f.name === name)!;
}

/** The generic clamp of one field, with its default. */
function clampOf<T>(name: RecordFieldName): Clamp<T> {
  const field = storedField(name);
  return (value) => (clampValue(field, value) ?? orElse(field)) as T;
}

function freshText<T extends string | null>(name: RecordFieldName): Clamp<T> {
  const field = storedField(name);
  const maxLength = field.kind === 'text' ? field.maxLength : 0;
  const slow = clampOf<T>(name);
  return (value) =>
    typeof value === 'string' && value.length <= maxLength && !MAYBE_UNSTORABLE.test(value)
      ? (value as T)
      : slow(value);
}

function freshInt<T extends number | null>(name: RecordFieldName): Clamp<T> {
  const max = storedField(name).kind === 'smallint' ? SMALLINT_MAX : INTEGER_MAX;
  const slow = clampOf<T>(name);
  return (value) =>
    typeof value === 'number' && (value | 0) === value && value >= -max - 1 && value <= max
      ? (value as T)
      : slow(value);
}

function freshInstant(name: RecordFieldName): Clamp<string> {
  const slow = clampOf<string>(name);
  return (value) => (typeof value === 'string' && CANONICAL_INSTANT.test(value) ? value : slow(value));
}

type Row = UsageRow;
const FRESH = {
  time: freshInstant('time'),
  requestId: freshText<Row['requestId']>('requestId'),
  endpoint: freshText<Row['endpoint']>('endpoint'),
  status: freshInt<Row['status']>('status'),
  latencyMs: clampOf<Row['latencyMs']>('latencyMs'),
  keyId: freshText<Row['keyId']>('keyId'),
  account: freshText<Row['account']>('account'),
  model: freshText<Row['model']>('model'),
  upstream: freshText<Row['upstream']>('upstream'),
  failovers: freshInt<Row['failovers']>('failovers'),
  stream: clampOf<Row['stream']>('stream'),
  promptTokens: freshInt<Row['promptTokens']>('promptTokens'),
  completionTokens: freshInt<Row['completionTokens']>('completionTokens'),
  totalTokens: freshInt<Row['totalTokens']>('totalTokens'),
  ttftMs: clampOf<Row['ttftMs']>('ttftMs'),
  audioSeconds: clampOf<Row['audioSeconds']>('audioSeconds'),
  errorCode: freshText<Row['errorCode']>('errorCode'),
  cache: clampOf<Row['cache']>('cache'),
};

/**
 * clampUsageRow(record, id) for a fresh record (fields under their names), in one literal: the keys in
 * USAGE_COLUMNS order, so its JSON line is the same.
 */
export function freshUsageRow(record: RequestRecord, id: string): UsageRow {
  const row = {
    id,
    occurredAt: FRESH.time(record.time),
    requestId: FRESH.requestId(record.requestId),
    endpoint: FRESH.endpoint(record.endpoint),
    status: FRESH.status(record.status),
    latencyMs: FRESH.latencyMs(record.latencyMs),
    keyId: FRESH.keyId(record.keyId),
    account: FRESH.account(record.account),
    model: FRESH.model(record.model),
    upstream: FRESH.upstream(record.upstream),
    failovers: FRESH.failovers(record.failovers),
    stream: FRESH.stream(record.stream),
    promptTokens: FRESH.promptTokens(record.promptTokens),
    completionTokens: FRESH.completionTokens(record.completionTokens),
    totalTokens: FRESH.totalTokens(record.totalTokens),
    ttftMs: FRESH.ttftMs(record.ttftMs),
    audioSeconds: FRESH.audioSeconds(record.audioSeconds),
    errorCode: FRESH.errorCode(record.errorCode),
    cache: FRESH.cache(record.cache),
  } satisfies Record<keyof UsageRow, unknown>;
  return row;
}
