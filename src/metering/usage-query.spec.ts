// Usage query parameters: accepted date forms read in UTC, impossible dates refused, defaults (this UTC month,
// or the month up to `to`), range checks, and every refusal naming its parameter.
import { ApiError } from '../core/errors';
import { parseInstant, resolveUsageQuery, validateUsageQuery } from './usage-query';

const NOW = new Date('2026-03-15T12:34:56.000Z');

function refusal(fn: () => unknown): { param: string | null; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError && err.code === 'invalid_request_error')
      return { param: err.param, message: err.toBody().error.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('parseInstant', () => {
  it.each([
    ['2026-01-31', '2026-01-31T00:00:00.000Z'],
    ['2026-01-31T10:20', '2026-01-31T10:20:00.000Z'],
    ['2026-01-31T10:20:30', '2026-01-31T10:20:30.000Z'],
    ['2026-01-31T10:20:30.5Z', '2026-01-31T10:20:30.500Z'],
    ['2026-01-31T10:20:30+01:00', '2026-01-31T09:20:30.000Z'],
    ['2026-01-31T10:20:30-0230', '2026-01-31T12:50:30.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
  ])('%s is %s', (input, iso) => expect(parseInstant(input)?.toISOString()).toBe(iso));

  it.each([
    '2026-02-29',
    '2026-13-01',
    '2026-04-31',
    '2026-01-01T24:00',
    '2026-W05',
    '2026-01',
    'yesterday',
    '',
  ])('refuses %j', (input) => expect(parseInstant(input)).toBeUndefined());
});

describe('resolveUsageQuery', () => {
  it('defaults to this UTC month, up to now, by model', () => {
    const q = resolveUsageQuery({}, NOW);
    expect(q).toEqual({ from: new Date('2026-03-01T00:00:00Z'), to: NOW, groupBy: 'model' });
  });

  it('with only `to`, covers the month up to it (to exclusive)', () => {
    const q = resolveUsageQuery({ to: '2026-02-01' }, NOW);
    expect(q.from.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(q.to.toISOString()).toBe('2026-02-01T00:00:00.000Z');
    expect(resolveUsageQuery({ to: '2026-02-10T08:00Z' }, NOW).from.toISOString()).toBe(
      '2026-02-01T00:00:00.000Z',
    );
  });

  it('allows a leap year, not more', () => {
    expect(() => resolveUsageQuery({ from: '2024-01-01', to: '2025-01-01' }, NOW)).not.toThrow();
    expect(refusal(() => resolveUsageQuery({ from: '2024-01-01', to: '2025-01-01T00:00:01Z' }, NOW))).toEqual(
      {
        param: 'to',
        message: 'Invalid value for to: must be at most 366 days from the other end of the range.',
      },
    );
    expect(refusal(() => resolveUsageQuery({ from: '2020-01-01' }, NOW)).param).toBe('from');
  });

  it('refuses an empty or reversed range, naming the parameter given', () => {
    expect(refusal(() => resolveUsageQuery({ from: '2026-02-01', to: '2026-01-01' }, NOW))).toEqual({
      param: 'to',
      message: 'Invalid value for to: must be after from.',
    });
    expect(refusal(() => resolveUsageQuery({ from: '2026-02-01', to: '2026-02-01' }, NOW)).param).toBe('to');
    expect(refusal(() => resolveUsageQuery({ from: '2026-04-01' }, NOW))).toEqual({
      param: 'from',
      message: 'Invalid value for from: must be in the past.',
    });
  });

  it('refuses dates that do not exist', () => {
    expect(refusal(() => resolveUsageQuery({ from: '2026-02-30' }, NOW)).param).toBe('from');
    expect(refusal(() => resolveUsageQuery({ to: '2026-W05' }, NOW)).param).toBe('to');
  });
});

describe('validateUsageQuery', () => {
  it('accepts the documented parameters', () => {
    const query = { from: '2026-01-01', to: '2026-02-01T00:00:00Z', group_by: 'day', format: 'csv' };
    expect(validateUsageQuery(query)).toEqual(query);
  });

  it.each([
    [{ from: 'last-month' }, 'from'],
    [{ to: '' }, 'to'],
    [{ from: ['2026-01-01', '2026-02-01'] }, 'from'],
    [{ group_by: 'team' }, 'group_by'],
    [{ format: 'xlsx' }, 'format'],
    [{ group_by: 'model', groupby: 'day' }, 'query'],
  ])('%j is refused naming %s', (raw, param) =>
    expect(refusal(() => validateUsageQuery(raw)).param).toBe(param),
  );

  it('never quotes an unknown parameter or a bad value', () => {
    const secret = 'sk-canary-123';
    expect(refusal(() => validateUsageQuery({ [secret]: '1' })).message).not.toContain(secret);
    expect(refusal(() => validateUsageQuery({ group_by: secret })).message).not.toContain(secret);
  });
});
