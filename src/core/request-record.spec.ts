import { PGlite } from '@electric-sql/pglite';
import type { QueryRunner } from 'typeorm';
import { MIGRATIONS } from '../database/data-source';
import {
  LOGGED_FIELDS,
  loggable,
  pickFields,
  RECORD_FIELD_NAMES,
  RECORD_FIELDS,
  TRACED_FIELDS,
  type FieldSpec,
  type RequestRecord,
} from './request-record';
import { minimalRecord } from '../../test/helpers/request-record';
import { clampUsageRow, USAGE_COLUMNS, type UsageRow } from './usage-columns';

const ID = '0b7f6f5e-3c1a-4d2b-9e8f-7a6b5c4d3e2f';
const record: RequestRecord = minimalRecord();

const fields: readonly FieldSpec[] = RECORD_FIELDS;
const field = (name: string): FieldSpec => fields.find((f) => f.name === name)!;

describe('the request record schema', () => {
  it('names every field, column and row key once', () => {
    const unique = (values: readonly unknown[]) => new Set(values).size === values.length;
    expect(unique(RECORD_FIELD_NAMES)).toBe(true);
    expect(unique(USAGE_COLUMNS.map((c) => c.column))).toBe(true);
    expect(unique(USAGE_COLUMNS.map((c) => c.key))).toBe(true);
  });

  it('gives every stored required field a value for its NOT NULL column', () => {
    for (const f of fields.filter((f) => f.required && f.column)) expect(f.orElse).toBeDefined();
    const row = clampUsageRow({}, ID);
    expect(row).toMatchObject({ requestId: '', endpoint: 'unmatched', status: 0, latencyMs: 0 });
    expect(Number.isFinite(Date.parse(row.occurredAt))).toBe(true);
  });

  it('logs every field and traces all but the time (the span has its own)', () => {
    expect(LOGGED_FIELDS).toEqual(RECORD_FIELD_NAMES);
    expect(TRACED_FIELDS).toEqual(RECORD_FIELD_NAMES.filter((f) => f !== 'time'));
  });
});

describe('the allowlist', () => {
  it('copies only schema fields with primitive values, in schema order', () => {
    const input = {
      prompt: 'SECRET',
      model: 'm',
      ...record,
      account: { name: 'SECRET' },
      keyId: ['SECRET'],
      upstream: undefined,
      stream: false,
      headers: { authorization: 'SECRET' },
    };
    const picked = loggable(input);
    expect(JSON.stringify(picked)).not.toContain('SECRET');
    expect(Object.keys(picked)).toEqual([...Object.keys(record), 'model', 'stream']);
    expect(pickFields(input, ['model', 'account'])).toEqual({ model: 'm' });
  });
});

describe('clamping to the usage columns', () => {
  const row = (extra: Record<string, unknown>): UsageRow => clampUsageRow({ ...record, ...extra }, ID);

  it('keeps every field of a valid record in its row key, the id given', () => {
    const full: Required<RequestRecord> = {
      ...record,
      keyId: 'k',
      account: 'team',
      model: 'm',
      upstream: 'u',
      failovers: 1,
      stream: true,
      promptTokens: 3,
      completionTokens: 6,
      totalTokens: 9,
      ttftMs: 4.5,
      audioSeconds: 2.5,
      errorCode: 'upstream_unavailable',
      cache: 'hit',
    };
    const { time, method: _notStored, ...rest } = full;
    expect(clampUsageRow(full, ID)).toEqual({ id: ID, occurredAt: time, ...rest });
  });

  it('text: cut to the column length, without NUL or lone surrogates', () => {
    expect(row({ requestId: 'r'.repeat(300) }).requestId).toHaveLength(128);
    expect(row({ model: 'm'.repeat(500) }).model).toHaveLength(200);
    expect(row({ requestId: 'a\u0000b' }).requestId).toBe('ab');
    expect(row({ model: `${'m'.repeat(199)}\u{1F600}` }).model).toBe(`${'m'.repeat(199)}\ufffd`);
    expect(row({ account: 'x\ud800y' }).account).toBe('x\ufffdy');
    expect(row({ upstream: 42 }).upstream).toBeNull();
  });

  it('smallint and integer: rounded and held to the column range', () => {
    expect(row({ status: 1e9 }).status).toBe(32_767);
    expect(row({ failovers: -1e6 }).failovers).toBe(-32_768);
    expect(row({ failovers: 1.6 }).failovers).toBe(2);
    expect(row({ completionTokens: 1e12 }).completionTokens).toBe(2_147_483_647);
    expect(row({ promptTokens: -1e12 }).promptTokens).toBe(-2_147_483_648);
    expect(row({ promptTokens: Number.NaN }).promptTokens).toBeNull();
    expect(row({ totalTokens: '9' }).totalTokens).toBeNull();
    expect(row({ status: Infinity }).status).toBe(0);
  });

  it('real: finite numbers only', () => {
    expect(row({ ttftMs: 4.125 }).ttftMs).toBe(4.125);
    expect(row({ ttftMs: Infinity }).ttftMs).toBeNull();
    expect(row({ latencyMs: Number.NaN }).latencyMs).toBe(0);
    expect(row({ audioSeconds: '1.5' }).audioSeconds).toBeNull();
  });

  it('boolean and enum: only their own values', () => {
    expect(row({ stream: false }).stream).toBe(false);
    expect(row({ stream: 'true' }).stream).toBeNull();
    expect(row({ cache: 'miss' }).cache).toBe('miss');
    expect(row({ cache: 'maybe' }).cache).toBeNull();
  });

  it('timestamp: normalised to UTC ISO, and now when unreadable', () => {
    expect(row({ time: '2026-01-01T01:00:00+01:00' }).occurredAt).toBe('2026-01-01T00:00:00.000Z');
    const before = Date.now();
    const now = Date.parse(row({ time: 'not a date' }).occurredAt);
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('clamps a row read back from the spool the same way, to the same row', () => {
    const fresh = row({ model: 'm', cache: 'hit', stream: true });
    expect(clampUsageRow(JSON.parse(JSON.stringify(fresh)) as object, ID)).toEqual(fresh);
    expect(clampUsageRow({ ...fresh, model: 'm'.repeat(500), status: 1e9 }, ID)).toMatchObject({
      model: 'm'.repeat(200),
      status: 32_767,
    });
  });
});

interface DbColumn {
  column_name: string;
  data_type: string;
  character_maximum_length: number | null;
  is_nullable: 'YES' | 'NO';
}

const DB_TYPES: Readonly<Record<string, string>> = {
  uuid: 'uuid',
  varchar: 'character varying',
  smallint: 'smallint',
  integer: 'integer',
  real: 'real',
  boolean: 'boolean',
  timestamptz: 'timestamp with time zone',
};

describe('the usage insert columns', () => {
  it('are exactly the columns the migrations create, with their types, lengths and NOT NULLs', async () => {
    const db = new PGlite();
    try {
      const runner = { query: (sql: string) => db.exec(sql) } as unknown as QueryRunner;
      for (const Migration of MIGRATIONS) await new Migration().up(runner);
      const { rows } = await db.query<DbColumn>(
        `SELECT column_name, data_type, character_maximum_length, is_nullable
         FROM information_schema.columns WHERE table_name = 'usage_records'`,
      );
      const created = new Map(rows.map((r) => [r.column_name, r]));
      expect(USAGE_COLUMNS.map((c) => c.column).sort()).toEqual([...created.keys()].sort());
      for (const c of USAGE_COLUMNS) {
        const db = created.get(c.column)!;
        const f = fields.find((f) => f.column === c.column);
        expect({ column: c.column, type: DB_TYPES[c.sqlType] }).toEqual({
          column: c.column,
          type: db.data_type,
        });
        expect({ column: c.column, notNull: c.column === 'id' || f?.orElse !== undefined }).toEqual({
          column: c.column,
          notNull: db.is_nullable === 'NO',
        });
        if (f?.kind === 'text')
          expect([c.column, f.maxLength]).toEqual([c.column, db.character_maximum_length]);
        if (f?.kind === 'enum')
          expect(Math.max(...f.values.map((v) => v.length))).toBeLessThanOrEqual(
            db.character_maximum_length!,
          );
      }
    } finally {
      await db.close();
    }
  });
});

describe('the record type', () => {
  it('is computed from the schema', () => {
    // Compile-time checks: a required field missing, or a value of the wrong kind, does not type-check.
    // @ts-expect-error requestId is required
    const missing: RequestRecord = { ...record, requestId: undefined };
    // @ts-expect-error cache is 'hit' | 'miss'
    const wrong: RequestRecord = { ...record, cache: 'maybe' };
    const usage: UsageRow = { ...clampUsageRow(record, ID), keyId: null };
    expect([missing, wrong, usage]).toHaveLength(3);
    expect(field('cache').kind).toBe('enum');
  });
});
