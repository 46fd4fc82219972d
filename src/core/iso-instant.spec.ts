import { parseInstant } from './iso-instant';

describe('parseInstant', () => {
  it.each([
    ['1970-01-01', '1970-01-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
    ['2026-01-31T10:20:30+01:00', '2026-01-31T09:20:30.000Z'],
  ])('reads %s as %s', (input, iso) => expect(parseInstant(input)?.toISOString()).toBe(iso));

  it.each([
    '0000-01-01T00:00:00Z',
    '1969-12-31T23:59:59Z',
    '+275760-09-13T00:00:00Z',
    '-271821-04-20T00:00:00Z',
    '10000-01-01',
    '20260101',
    '2026-W05',
    '2026-001',
    'Dec 7 2026',
    '2026-01-01T00:00:00+25:00',
  ])('refuses %j', (input) => expect(parseInstant(input)).toBeUndefined());
});
