// The usage_records row derived from the request record's schema: its type, its columns with their SQL types,
// and the clamping that makes any value storable, so no row can make a batch fail (a failing batch would
// otherwise be spooled and replayed forever).
import {
  RECORD_FIELDS,
  type FieldSpec,
  type RecordField,
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
