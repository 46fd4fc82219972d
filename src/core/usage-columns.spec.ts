import { minimalRecord } from '../../test/helpers/request-record';
import fc from 'fast-check';
import { RECORD_FIELDS, type FieldSpec, type RequestRecord } from './request-record';
import { clampUsageRow, freshUsageRow, USAGE_COLUMNS } from './usage-columns';

const ID = '0b7f6f5e-3c1a-4d2b-9e8f-7a6b5c4d3e2f';
const fields: readonly FieldSpec[] = RECORD_FIELDS;

/** Text around the column's length, with NULs, lone and paired surrogates, and any other UTF-16 unit. */
function nastyText(maxLength: number): fc.Arbitrary<string> {
  const unit = fc.oneof(
    fc.constantFrom('a', 'é', '\0', '\ud800', '\udfff', '\ud83d\ude00', '\ud83d', '\ude00', '\n', '"'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  );
  const around = fc.integer({ min: Math.max(0, maxLength - 3), max: maxLength + 3 });
  return fc.oneof(
    fc.string({ unit, maxLength: 8 }),
    fc.tuple(around, unit).map(([length, u]) => 'm'.repeat(Math.max(0, length - u.length)) + u),
    fc
      .tuple(around, fc.string({ unit, minLength: 1, maxLength: 4 }))
      .map(([length, tail]) => 'x'.repeat(Math.max(0, length - 2)) + tail),
    fc.string({ unit: 'grapheme', maxLength: maxLength + 5 }),
  );
}

const nastyNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 0.5, -0.5, 1.5, 2.5),
  fc.constantFrom(
    32_767,
    32_768,
    -32_768,
    -32_769,
    2_147_483_647,
    2_147_483_648,
    -2_147_483_648,
    -2_147_483_649,
  ),
  fc.integer({ min: -40_000, max: 40_000 }).map((n) => n + 0.5),
);

const DAY_MS = 86_400_000;
const instant = fc.oneof(
  fc.integer({ min: -62_198_755_200_000, max: 253_402_300_799_999 }).map((t) => new Date(t).toISOString()),
  fc.integer({ min: 0, max: 3 * DAY_MS }).map((t) => new Date(Date.UTC(2026, 1, 27) + t).toISOString()),
  fc.constantFrom(
    '2026-02-30T00:00:00.000Z',
    '2026-02-29T00:00:00.000Z',
    '2028-02-29T00:00:00.000Z',
    '2026-04-31T00:00:00.000Z',
    '2026-06-31T00:00:00.000Z',
    '2026-09-31T00:00:00.000Z',
    '2026-11-31T00:00:00.000Z',
    '2026-02-31T00:00:00.000Z',
    '2026-01-01T24:00:00.000Z',
    '2026-13-01T00:00:00.000Z',
    '2026-01-01T00:00:60.000Z',
    '2026-01-01T00:00:00Z',
    '2026-01-01T00:00:00.000+01:00',
    '+275760-09-13T00:00:00.000Z',
    '0000-01-01T00:00:00.000Z',
    'not a date',
    '',
  ),
);

/** Any value a field might carry at run time: of its own kind, of another kind, or none. */
function anyValue(field: FieldSpec): fc.Arbitrary<unknown> {
  const own =
    field.kind === 'text'
      ? nastyText(field.maxLength)
      : field.kind === 'timestamp'
        ? instant
        : field.kind === 'enum'
          ? fc.constantFrom(...field.values, 'HIT', '')
          : field.kind === 'boolean'
            ? fc.boolean()
            : nastyNumber;
  return fc.oneof(
    { weight: 6, arbitrary: own },
    { weight: 1, arbitrary: fc.constantFrom(undefined, null, true, 0, '', {}, []) },
    { weight: 1, arbitrary: fc.oneof(nastyNumber, nastyText(8)) },
  );
}

const records: fc.Arbitrary<RequestRecord> = fc.record(
  Object.fromEntries(fields.map((f) => [f.name, anyValue(f)])),
  { requiredKeys: [] },
) as unknown as fc.Arbitrary<RequestRecord>;

describe('the fresh record row', () => {
  beforeAll(() =>
    jest.useFakeTimers({ now: Date.UTC(2026, 5, 1, 12), doNotFake: ['nextTick', 'queueMicrotask'] }),
  );
  afterAll(() => jest.useRealTimers());

  it('is the generic clamp row, byte for byte, for any record (nasty strings and numbers too)', () => {
    fc.assert(
      fc.property(records, (record) => {
        expect(JSON.stringify(freshUsageRow(record, ID))).toBe(JSON.stringify(clampUsageRow(record, ID)));
      }),
      { numRuns: 5_000 },
    );
  });

  it('has the columns in USAGE_COLUMNS order, and takes storable values as they are', () => {
    const record = minimalRecord({ model: 'm', promptTokens: 3 });
    const row = freshUsageRow(record, ID);
    expect(Object.keys(row)).toEqual(USAGE_COLUMNS.map((c) => c.key));
    expect(row).toMatchObject({ occurredAt: record.time, requestId: 'req_1', model: 'm', promptTokens: 3 });
  });
});
