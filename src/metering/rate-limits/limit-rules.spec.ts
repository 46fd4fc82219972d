import {
  advanceClock,
  admit,
  EMPTY_STATE,
  formatDuration,
  monthOf,
  nextMonthStart,
  type Limits,
  type Subject,
  type SubjectState,
} from './limit-rules';

const NOW = Date.UTC(2026, 10, 17, 12, 0, 0);
const none: Limits = { rpm: null, tpm: null, monthlyTokens: null };
const key = (limits: Partial<Limits>): Subject => ({
  scope: 'key',
  id: 'k1',
  limits: { ...none, ...limits },
});
const account = (limits: Partial<Limits>): Subject => ({
  scope: 'account',
  id: 'team',
  limits: { ...none, ...limits },
});

/** Sends `count` requests at `now`, carrying the state along; returns the admissions. */
function burst(subjects: Subject[], count: number, now: number, start?: SubjectState[]) {
  let states = start ?? subjects.map(() => EMPTY_STATE);
  const results = [];
  for (let i = 0; i < count; i++) {
    const result = admit(subjects, states, now);
    states = result.next;
    results.push(result);
  }
  return { results, states };
}

describe('admit: requests per minute', () => {
  it.each([1, 3, 7, 60, 1000, 19_997])('admits exactly rpm=%i requests at once, then refuses', (rpm) => {
    const { results } = burst([key({ rpm })], rpm + 1, NOW);
    expect(results.filter((r) => r.refusal)).toHaveLength(1);
    expect(results.at(-1)!.refusal).toMatchObject({ kind: 'requests', scope: 'key' });
  });

  it('refills one request per interval, and the retry-after is when the next is admitted', () => {
    const subjects = [key({ rpm: 3 })];
    const { results, states } = burst(subjects, 4, NOW);
    const retry = results[3]!.refusal!.retryAfterMs;
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(20_000);
    expect(admit(subjects, states, NOW + retry - 1).refusal).toBeDefined();
    expect(admit(subjects, states, NOW + retry).refusal).toBeUndefined();
    // A minute later the whole allowance is back.
    expect(burst(subjects, 4, NOW + 60_000, states).results.map((r) => !r.refusal)).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });

  it('counts nothing for a refused request', () => {
    const subjects = [key({ rpm: 1 })];
    const first = admit(subjects, [EMPTY_STATE], NOW);
    const refused = admit(subjects, first.next, NOW);
    expect(refused.refusal).toBeDefined();
    expect(refused.next).toEqual(first.next);
  });

  it("holds a key to its account's limit as well, and counts both only when both admit", () => {
    const subjects = [key({ rpm: 10 }), account({ rpm: 2 })];
    const { results, states } = burst(subjects, 3, NOW);
    expect(results[2]!.refusal).toMatchObject({ kind: 'requests', scope: 'account' });
    // The key's own counter did not move for the refused request: 2 of 10 used.
    expect(results[2]!.headers['x-ratelimit-remaining-requests']).toBe('0');
    const keyOnly = admit([key({ rpm: 10 })], [states[0]!], NOW);
    expect(keyOnly.headers['x-ratelimit-remaining-requests']).toBe('7');
  });
});

describe('admit: tokens per minute and the monthly quota', () => {
  it('refuses once the tokens of the last minute reach tpm, until enough have drained', () => {
    const subjects = [key({ tpm: 100 })];
    let state: SubjectState = { ...EMPTY_STATE, tokenTat: advanceClock(0, 100, 60, NOW) };
    expect(admit(subjects, [state], NOW).refusal).toBeUndefined();
    state = { ...state, tokenTat: advanceClock(state.tokenTat, 100, 50, NOW) }; // 110 of 100 used
    const refused = admit(subjects, [state], NOW);
    expect(refused.refusal).toMatchObject({ kind: 'tokens', scope: 'key' });
    expect(refused.refusal!.retryAfterMs).toBeCloseTo(6_001, 0); // 10 tokens at 100 a minute
    expect(admit(subjects, [state], NOW + refused.refusal!.retryAfterMs).refusal).toBeUndefined();
    expect(refused.headers).toMatchObject({
      'x-ratelimit-limit-tokens': '100',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-tokens': '1m6s',
    });
  });

  it('refuses with quota once the month is used up, until the next UTC month', () => {
    const subjects = [key({ monthlyTokens: 1000 })];
    expect(admit(subjects, [{ ...EMPTY_STATE, monthUsed: 999 }], NOW).refusal).toBeUndefined();
    const refused = admit(subjects, [{ ...EMPTY_STATE, monthUsed: 1000 }], NOW);
    expect(refused.refusal).toEqual({
      kind: 'quota',
      scope: 'key',
      retryAfterMs: Date.UTC(2026, 11, 1) - NOW,
    });
    expect(refused.headers).toEqual({}); // no per-minute limit: no x-ratelimit headers
  });

  it('reports the quota before a per-minute refusal', () => {
    const subjects = [key({ rpm: 1, monthlyTokens: 5 })];
    const state = { ...EMPTY_STATE, requestTat: NOW + 60_000, monthUsed: 5 };
    expect(admit(subjects, [state], NOW).refusal?.kind).toBe('quota');
  });
});

describe('rate limit headers', () => {
  it('shows the tightest budget of key and account, in OpenAI formats', () => {
    const subjects = [key({ rpm: 100, tpm: 1000 }), account({ rpm: 3, tpm: 50_000 })];
    const { results } = burst(subjects, 1, NOW);
    expect(results[0]!.headers).toEqual({
      'x-ratelimit-limit-requests': '3',
      'x-ratelimit-remaining-requests': '2',
      'x-ratelimit-reset-requests': '20s',
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '1000',
      'x-ratelimit-reset-tokens': '0s',
    });
  });

  it.each([
    [0, '0s'],
    [0.2, '1ms'],
    [12, '12ms'],
    [999.5, '1s'],
    [1500, '1.5s'],
    [20_000, '20s'],
    [360_000, '6m0s'],
    [3_723_004, '1h2m3.004s'],
  ])('formats %p ms as %p', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('months', () => {
  it('are UTC calendar months', () => {
    expect(monthOf(Date.UTC(2026, 11, 31, 23, 59, 59))).toBe('2026-12');
    expect(monthOf(Date.UTC(2027, 0, 1))).toBe('2027-01');
    expect(nextMonthStart(Date.UTC(2026, 11, 31, 23))).toBe(Date.UTC(2027, 0, 1));
  });
});
