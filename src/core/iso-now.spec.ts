import fc from 'fast-check';
import { isoNow } from './iso-now';

describe('isoNow', () => {
  it('writes what Date#toISOString writes, within a second, across seconds and when the clock steps back', () => {
    const start = Date.UTC(2026, 11, 31, 23, 59, 59, 998);
    for (const now of [
      start,
      start + 1,
      start + 2,
      start + 1001,
      start - 1,
      start - 1000,
      0,
      -1,
      -1000,
      -1001,
    ])
      expect(isoNow(now)).toBe(new Date(now).toISOString());
    fc.assert(
      fc.property(
        fc.integer({ min: -62_198_755_200_000, max: 253_402_300_799_999 }),
        fc.array(fc.integer({ min: -1500, max: 1500 })),
        (from, steps) => {
          let now = from;
          for (const step of [0, ...steps]) {
            now += step;
            expect(isoNow(now)).toBe(new Date(now).toISOString());
          }
        },
      ),
    );
  });

  it('reads the clock when given no time', () => {
    const before = Date.now();
    const now = Date.parse(isoNow());
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});
