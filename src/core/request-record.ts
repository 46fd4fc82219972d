// The request record: everything Hunze keeps about a request, declared once. Its TypeScript type, the log
// and trace allowlists, the clamping to usage_records' column types and the usage insert's columns are all
// derived from RECORD_FIELDS (here and in usage-columns.ts), so a new field is one entry here plus a migration.
// Only metadata belongs here: ids, names from config, numbers and catalogue codes; never a request or response
// body.

/** How a field's value is typed, clamped and stored. */
export type FieldKind =
  | { readonly kind: 'text'; readonly maxLength: number }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'smallint' | 'integer' | 'real' | 'boolean' | 'timestamp' };

export type FieldSpec = FieldKind & {
  readonly name: string;
  /** Always set on a finished request's record. */
  readonly required?: true;
  /** Its usage_records column; a field without one is logged and traced but not stored. */
  readonly column?: string;
  /** The key the usage row (and so its spool line) carries it under, when that is not `name`. */
  readonly rowKey?: string;
  /** The row's value when the record has none: the column is NOT NULL. `'now'` for a timestamp. */
  readonly orElse?: string | number;
  /** Written to the access log line. */
  readonly log: boolean;
  /** Written as the span attribute `hunze.<name>`. */
  readonly trace: boolean;
};

// Order matters: it is the order of the fields in the log line and of the span attributes. One line a field.
// prettier-ignore
export const RECORD_FIELDS = [
  // When the request ended; the log line's own time and the span's end, so not a span attribute.
  { name: 'time', kind: 'timestamp', required: true, column: 'occurred_at', rowKey: 'occurredAt', orElse: 'now', log: true, trace: false },
  // The x-request-id, which a client may choose: not unique.
  { name: 'requestId', kind: 'text', maxLength: 128, required: true, column: 'request_id', orElse: '', log: true, trace: true },
  { name: 'method', kind: 'text', maxLength: 16, required: true, log: true, trace: true },
  // The route pattern, never the URL: a query string may carry a key (?key=) or other input.
  { name: 'endpoint', kind: 'text', maxLength: 100, required: true, column: 'endpoint', orElse: 'unmatched', log: true, trace: true },
  // 499 when the client went away before the answer was complete.
  { name: 'status', kind: 'smallint', required: true, column: 'status', orElse: 0, log: true, trace: true },
  { name: 'latencyMs', kind: 'real', required: true, column: 'latency_ms', orElse: 0, log: true, trace: true },
  { name: 'keyId', kind: 'text', maxLength: 64, column: 'key_id', log: true, trace: true },
  { name: 'account', kind: 'text', maxLength: 200, column: 'account', log: true, trace: true },
  { name: 'model', kind: 'text', maxLength: 200, column: 'model', log: true, trace: true },
  { name: 'upstream', kind: 'text', maxLength: 100, column: 'upstream', log: true, trace: true },
  // Upstreams tried and given up on before the one that answered.
  { name: 'failovers', kind: 'smallint', column: 'failovers', log: true, trace: true },
  { name: 'stream', kind: 'boolean', column: 'stream', log: true, trace: true },
  { name: 'promptTokens', kind: 'integer', column: 'prompt_tokens', log: true, trace: true },
  { name: 'completionTokens', kind: 'integer', column: 'completion_tokens', log: true, trace: true },
  { name: 'totalTokens', kind: 'integer', column: 'total_tokens', log: true, trace: true },
  { name: 'ttftMs', kind: 'real', column: 'ttft_ms', log: true, trace: true },
  // Audio endpoints: seconds of audio transcribed (a number, never the audio).
  { name: 'audioSeconds', kind: 'real', column: 'audio_seconds', log: true, trace: true },
  // A catalogue code (src/common/errors.ts); typed as text so a spooled row read back stays honest.
  { name: 'errorCode', kind: 'text', maxLength: 64, column: 'error_code', log: true, trace: true },
  // A cacheable request (models[].cache): answered from the response cache, or not.
  { name: 'cache', kind: 'enum', values: ['hit', 'miss'], column: 'cache', log: true, trace: true },
] as const satisfies readonly FieldSpec[];

export type RecordField = (typeof RECORD_FIELDS)[number];
export type RecordFieldName = RecordField['name'];

/** The TypeScript value of a field of this kind. */
export type ValueOf<F extends FieldKind> = F extends { kind: 'text' | 'timestamp' }
  ? string
  : F extends { kind: 'smallint' | 'integer' | 'real' }
    ? number
    : F extends { kind: 'boolean' }
      ? boolean
      : F extends { kind: 'enum'; values: readonly (infer V)[] }
        ? V
        : never;

/** Flattens an intersection so editors show one object type. */
export type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** A finished request's record: the only thing about a request that logs, traces, metrics and usage see. */
export type RequestRecord = Simplify<
  { [F in RecordField as F extends { required: true } ? F['name'] : never]: ValueOf<F> } & {
    [F in RecordField as F extends { required: true } ? never : F['name']]?: ValueOf<F>;
  }
>;

export const RECORD_FIELD_NAMES: readonly RecordFieldName[] = RECORD_FIELDS.map((f) => f.name);
export const LOGGED_FIELDS: readonly RecordFieldName[] = RECORD_FIELDS.filter((f) => f.log).map(
  (f) => f.name,
);
export const TRACED_FIELDS: readonly RecordFieldName[] = RECORD_FIELDS.filter((f) => f.trace).map(
  (f) => f.name,
);

/**
 * Copies only the named fields, and only primitive values: a guard against a caller passing a richer object
 * (a body, an error) where a record is expected.
 */
export function pickFields(input: object, fields: readonly RecordFieldName[]): Partial<RequestRecord> {
  const source = input as Readonly<Record<string, unknown>>;
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const value = source[field];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      out[field] = value;
  }
  return out;
}

/** What the access log may write of a record. */
export function loggable(input: object): Partial<RequestRecord> {
  return pickFields(input, LOGGED_FIELDS);
}
