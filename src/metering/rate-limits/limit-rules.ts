// The rules every store applies, as pure functions of (limits, state, now). Requests and tokens per minute
// are GCRA (a leaky bucket kept as one "theoretical arrival time" per subject): a full minute's allowance may
// come as a burst, then it refills continuously, with none of the fixed window's double burst at the minute
// boundary. The monthly quota is a plain counter per UTC calendar month. redis-scripts.ts mirrors the
// admission check operation for operation, so both backends decide alike on the same state.

export const WINDOW_MS = 60_000;

export type LimitKind = 'requests' | 'tokens' | 'quota';
export type Scope = 'key' | 'account';

export interface Limits {
  rpm: number | null;
  tpm: number | null;
  monthlyTokens: number | null;
}

/** Whose counters: a key (by id) or an account (by name). */
export interface Subject {
  scope: Scope;
  id: string;
  limits: Limits;
}

/** Times in epoch milliseconds; `monthUsed` counts tokens in the current UTC month. */
export interface SubjectState {
  requestTat: number;
  tokenTat: number;
  monthUsed: number;
}

export const EMPTY_STATE: SubjectState = { requestTat: 0, tokenTat: 0, monthUsed: 0 };

export interface Refusal {
  kind: LimitKind;
  scope: Scope;
  retryAfterMs: number;
}

export interface Admission {
  refusal?: Refusal;
  /** The states after this request: advanced when admitted, unchanged when refused. */
  next: SubjectState[];
  /** The x-ratelimit-* headers (only the trios that some subject limits). */
  headers: Record<string, string>;
}

/** Decides one request against every subject's limits; nothing is counted unless all of them admit it. */
export function admit(subjects: readonly Subject[], states: readonly SubjectState[], now: number): Admission {
  const refusals: Refusal[] = [];
  const next = subjects.map((subject, i) => {
    const state = states[i] ?? EMPTY_STATE;
    const { rpm, tpm, monthlyTokens } = subject.limits;
    const { scope } = subject;
    if (monthlyTokens !== null && state.monthUsed >= monthlyTokens)
      refusals.push({ kind: 'quota', scope, retryAfterMs: nextMonthStart(now) - now });
    if (tpm !== null && state.tokenTat - now >= WINDOW_MS)
      refusals.push({ kind: 'tokens', scope, retryAfterMs: state.tokenTat - WINDOW_MS - now + 1 });
    if (rpm === null) return state;
    const interval = WINDOW_MS / rpm;
    const requestTat = Math.max(state.requestTat, now) + interval;
    // Half an interval of tolerance absorbs rounding (60000/7 * 7) without ever admitting an extra request.
    const allowedUntil = WINDOW_MS + interval / 2;
    if (requestTat - now > allowedUntil)
      refusals.push({ kind: 'requests', scope, retryAfterMs: requestTat - allowedUntil - now });
    return { ...state, requestTat };
  });
  const refusal = pickRefusal(refusals);
  const after = refusal ? subjects.map((_, i) => states[i] ?? EMPTY_STATE) : next;
  return { refusal, next: after, headers: rateLimitHeaders(subjects, after, now) };
}

/** A GCRA clock (request or token) after `count` more requests or tokens, at a limit of `perMinute`. */
export function advanceClock(tat: number, perMinute: number, count: number, now: number): number {
  return Math.max(tat, now) + (count * WINDOW_MS) / perMinute;
}

/** The quota wins (it is not a matter of seconds); otherwise the longest wait. */
function pickRefusal(refusals: Refusal[]): Refusal | undefined {
  const quota = refusals.find((r) => r.kind === 'quota');
  if (quota) return quota;
  return refusals.reduce<Refusal | undefined>(
    (longest, r) => (!longest || r.retryAfterMs > longest.retryAfterMs ? r : longest),
    undefined,
  );
}

interface Budget {
  limit: number;
  remaining: number;
  resetMs: number;
}

/** OpenAI's headers: the tightest of the key's and the account's budgets for requests and for tokens. */
export function rateLimitHeaders(
  subjects: readonly Subject[],
  states: readonly SubjectState[],
  now: number,
): Record<string, string> {
  const requests: Budget[] = [];
  const tokens: Budget[] = [];
  subjects.forEach(({ limits }, i) => {
    const state = states[i] ?? EMPTY_STATE;
    if (limits.rpm !== null) {
      const interval = WINDOW_MS / limits.rpm;
      const ahead = Math.max(state.requestTat - now, 0);
      const left = Math.floor((WINDOW_MS + interval / 2 - ahead) / interval);
      requests.push({ limit: limits.rpm, remaining: clamp(left, 0, limits.rpm), resetMs: ahead });
    }
    if (limits.tpm !== null) {
      const ahead = Math.max(state.tokenTat - now, 0);
      const left = Math.floor(limits.tpm - (ahead * limits.tpm) / WINDOW_MS + 1e-6);
      tokens.push({ limit: limits.tpm, remaining: clamp(left, 0, limits.tpm), resetMs: ahead });
    }
  });
  return { ...trio('requests', tightest(requests)), ...trio('tokens', tightest(tokens)) };
}

function tightest(budgets: Budget[]): Budget | undefined {
  return budgets.reduce<Budget | undefined>(
    (best, b) =>
      !best || b.remaining < best.remaining || (b.remaining === best.remaining && b.limit < best.limit)
        ? b
        : best,
    undefined,
  );
}

function trio(kind: 'requests' | 'tokens', budget: Budget | undefined): Record<string, string> {
  if (!budget) return {};
  return {
    [`x-ratelimit-limit-${kind}`]: String(budget.limit),
    [`x-ratelimit-remaining-${kind}`]: String(budget.remaining),
    [`x-ratelimit-reset-${kind}`]: formatDuration(budget.resetMs),
  };
}

const clamp = (value: number, min: number, max: number) => Math.min(Math.max(value, min), max);

/** Go's time.Duration format at millisecond resolution, as OpenAI sends it: "0s", "12ms", "1.5s", "6m0s". */
export function formatDuration(ms: number): string {
  const total = Math.ceil(Math.max(ms, 0));
  if (total === 0) return '0s';
  if (total < 1000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const seconds = String((total % 60_000) / 1000);
  return `${hours ? `${hours}h` : ''}${hours || minutes ? `${minutes}m` : ''}${seconds}s`;
}

/** 'YYYY-MM' of the UTC calendar month containing `now`. */
export function monthOf(now: number): string {
  return new Date(now).toISOString().slice(0, 7);
}

export function monthStart(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function nextMonthStart(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}
