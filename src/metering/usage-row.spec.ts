import { minimalRecord } from '../../test/helpers/request-record';
import { INSERT_USAGE_SQL, insertUsageParams, parseUsageRow, toUsageRow } from './usage-row';

const base = minimalRecord();

describe('usage rows', () => {
  it('gets a fresh id and keeps every metadata field in its column', () => {
    const a = toUsageRow({
      ...base,
      keyId: 'k',
      account: 'team',
      model: 'm',
      upstream: 'u',
      stream: true,
      promptTokens: 3,
      completionTokens: 6,
      totalTokens: 9,
      ttftMs: 4.5,
      failovers: 1,
      errorCode: 'x',
      cache: 'hit',
    });
    const b = toUsageRow(base);
    expect(a.id).not.toBe(b.id);
    expect(a).toMatchObject({
      requestId: 'req_1',
      occurredAt: base.time,
      keyId: 'k',
      account: 'team',
      model: 'm',
      upstream: 'u',
      stream: true,
      status: 200,
      promptTokens: 3,
      completionTokens: 6,
      totalTokens: 9,
      latencyMs: 1.25,
      ttftMs: 4.5,
      failovers: 1,
      errorCode: 'x',
      cache: 'hit',
      audioSeconds: null,
    });
  });

  it('clamps values that would make the database refuse the whole batch', () => {
    const row = toUsageRow({
      ...base,
      requestId: 'r'.repeat(300),
      model: 'm'.repeat(500),
      status: 1e9,
      promptTokens: Number.NaN,
      completionTokens: 1e12,
      failovers: -1e6,
      latencyMs: Infinity,
      time: 'not a date',
    });
    expect(row.requestId).toHaveLength(128);
    expect(row.model).toHaveLength(200);
    expect(row.status).toBe(32_767);
    expect(row.promptTokens).toBeNull();
    expect(row.completionTokens).toBe(2_147_483_647);
    expect(row.failovers).toBe(-32_768);
    expect(row.latencyMs).toBe(0);
    expect(Number.isFinite(Date.parse(row.occurredAt))).toBe(true);
  });

  it('reads back only rows with a valid id, with the same id', () => {
    const row = toUsageRow(base);
    expect(parseUsageRow(JSON.parse(JSON.stringify(row)))).toEqual(row);
    expect(parseUsageRow({ ...row, id: 'nope' })).toBeUndefined();
    expect(parseUsageRow(null)).toBeUndefined();
    expect(parseUsageRow('text')).toBeUndefined();
  });

  it('inserts a batch with one statement: the rows as one JSON array, typed per column', () => {
    const rows = [toUsageRow(base), toUsageRow({ ...base, requestId: 'req_2' })];
    const params = insertUsageParams(rows);
    expect(params).toHaveLength(1);
    expect(JSON.parse(params[0])).toEqual(rows);
    expect(INSERT_USAGE_SQL).toContain(
      'json_to_recordset($1::json) AS row_("id" uuid, "occurredAt" timestamptz, "requestId" varchar',
    );
    expect(INSERT_USAGE_SQL).toContain('INSERT INTO usage_records (id, occurred_at, request_id, endpoint,');
    expect(INSERT_USAGE_SQL).toContain('SELECT "id", "occurredAt", "requestId"');
    expect(INSERT_USAGE_SQL).toContain('ON CONFLICT (id) DO NOTHING');
  });

  it('makes text storable: no NUL, no lone surrogate (also where the cut splits a pair)', () => {
    const row = toUsageRow({
      ...base,
      requestId: 'a\u0000b',
      model: `${'m'.repeat(199)}\u{1F600}`,
      account: 'x\ud800y',
    });
    expect(row.requestId).toBe('ab');
    expect(row.model).toBe(`${'m'.repeat(199)}\ufffd`);
    expect(row.account).toBe('x\ufffdy');
  });
});
