// The retry policy on its own and composed with failover: which failures are retried, how often, how long it
// waits (an injected delay records the waits; no test waits on the clock) and how a client abort ends it.
import { ApiError } from '../core/errors';
import type { CancelSignal } from '../core/request-context';
import { ClientSignal } from '../http/client-signal';
import {
  abortableDelay,
  BACKOFF_CAP_MS,
  RETRY_AFTER_CAP_MS,
  retryDelayMs,
  withFailover,
  withRetries,
  type RetryOptions,
  type RoundFailures,
} from './policies';
import { retryAfterMs } from './upstream-errors';
import { BrokenCircuitError, UpstreamStatusError, type UpstreamTarget } from './upstream-target';

const refused = () => Object.assign(new Error('connect'), { code: 'ECONNREFUSED' });
const headersTimeout = () => Object.assign(new Error('headers'), { code: 'UND_ERR_HEADERS_TIMEOUT' });

/** A round that fails with each of `failures` in turn (noted as failover would), then succeeds. */
function scriptedRound(failures: unknown[]) {
  const round = jest.fn(async (seen: RoundFailures) => {
    const failure = failures[round.mock.calls.length - 1];
    if (failure === undefined) return 'ok';
    seen.note(failure);
    throw failure instanceof ApiError ? failure : new ApiError('upstream_overloaded');
  });
  return round;
}

function options(over: Partial<RetryOptions> = {}) {
  const waits: number[] = [];
  const delay = async (ms: number) => void waits.push(ms);
  const opts: RetryOptions = {
    attempts: 2,
    backoffMs: 100,
    replayable: true,
    signal: new AbortController().signal,
    delay,
    random: () => 0,
    ...over,
  };
  return { opts, waits };
}

describe('withRetries', () => {
  it('retries a round that failed with 503, 429 or a connection failure, at most `attempts` times', async () => {
    const round = scriptedRound([new UpstreamStatusError(503), new UpstreamStatusError(429), refused()]);
    const { opts, waits } = options();
    await expect(withRetries(round, opts)).rejects.toMatchObject({ code: 'upstream_overloaded' });
    expect(round).toHaveBeenCalledTimes(3);
    expect(waits).toEqual([100, 200]);

    const recovering = scriptedRound([new UpstreamStatusError(503), refused()]);
    await expect(withRetries(recovering, options().opts)).resolves.toBe('ok');
    expect(recovering).toHaveBeenCalledTimes(3);
  });

  it('does not retry with attempts 0', async () => {
    const round = scriptedRound([new UpstreamStatusError(503)]);
    const { opts, waits } = options({ attempts: 0 });
    await expect(withRetries(round, opts)).rejects.toBeInstanceOf(ApiError);
    expect([round.mock.calls.length, waits]).toEqual([1, []]);
  });

  it.each([
    ['a 500', new UpstreamStatusError(500)],
    ['a 502', new UpstreamStatusError(502)],
    ['a 504', new UpstreamStatusError(504)],
    ['a slow first byte', headersTimeout()],
    ['an open circuit alone', new BrokenCircuitError()],
    ['a 4xx (the request’s fault)', new ApiError('upstream_rejected', { upstreamStatus: 400 })],
  ])('does not retry %s', async (_name, failure) => {
    const round = scriptedRound([failure]);
    const { opts, waits } = options();
    await expect(withRetries(round, opts)).rejects.toBeInstanceOf(ApiError);
    expect([round.mock.calls.length, waits]).toEqual([1, []]);
  });

  it('does not retry a body that cannot be sent twice', async () => {
    const round = scriptedRound([new UpstreamStatusError(503)]);
    const { opts, waits } = options({ replayable: false });
    await expect(withRetries(round, opts)).rejects.toMatchObject({ code: 'upstream_overloaded' });
    expect([round.mock.calls.length, waits]).toEqual([1, []]);
  });

  it('doubles the backoff per retry, with up to 25 % jitter off, and caps it', async () => {
    const failures = Array.from({ length: 5 }, () => new UpstreamStatusError(503));
    const { opts, waits } = options({ attempts: 4 });
    await expect(withRetries(scriptedRound(failures), opts)).rejects.toBeInstanceOf(ApiError);
    expect(waits).toEqual([100, 200, 400, 800]);

    const jittered = options({ attempts: 2, random: () => 0.5 });
    await expect(withRetries(scriptedRound(failures), jittered.opts)).rejects.toBeInstanceOf(ApiError);
    expect(jittered.waits).toEqual([88, 175]);

    const policy = { attempts: 10, backoffMs: 60_000 };
    expect(retryDelayMs(policy, 9, undefined, () => 0)).toBe(BACKOFF_CAP_MS);
    expect(retryDelayMs(policy, 0, undefined, () => 0.999)).toBeGreaterThanOrEqual(45_000);
  });

  it("waits the upstream's retry-after (the longest of the round) when it is within the cap", async () => {
    const round = jest.fn(async (seen: RoundFailures) => {
      if (round.mock.calls.length > 1) return 'ok';
      seen.note(new UpstreamStatusError(429, 2500));
      seen.note(new UpstreamStatusError(503, 1500));
      seen.note(refused());
      throw new ApiError('upstream_overloaded');
    });
    const { opts, waits } = options();
    await expect(withRetries(round, opts)).resolves.toBe('ok');
    expect(waits).toEqual([2500]);
  });

  it('ignores a retry-after beyond the cap and backs off as usual', async () => {
    const long = new UpstreamStatusError(503, RETRY_AFTER_CAP_MS + 1);
    const { opts, waits } = options({ attempts: 1 });
    await expect(withRetries(scriptedRound([long, long]), opts)).rejects.toBeInstanceOf(ApiError);
    expect(waits).toEqual([100]);
  });

  it('does not retry once the client has gone away', async () => {
    const controller = new AbortController();
    controller.abort();
    const round = scriptedRound([new UpstreamStatusError(503)]);
    const { opts, waits } = options({ signal: controller.signal });
    await expect(withRetries(round, opts)).rejects.toMatchObject({ code: 'upstream_connection_failed' });
    expect([round.mock.calls.length, waits]).toEqual([1, []]);
  });

  it.each([
    ['ClientSignal', () => new ClientSignal()],
    ['AbortSignal', () => new AbortController()],
  ])('ends a wait at once when the client goes away during it (%s)', async (_name, make) => {
    jest.useFakeTimers();
    try {
      const aborter = make();
      const signal: CancelSignal = aborter instanceof AbortController ? aborter.signal : aborter;
      const round = scriptedRound([new UpstreamStatusError(503)]);
      // The real delay, a minute long; the client leaves as soon as it has started.
      const delay = (ms: number, s: CancelSignal) => {
        const waiting = abortableDelay(ms, s);
        aborter.abort();
        return waiting;
      };
      const { opts } = options({ backoffMs: 60_000, signal, delay });
      await expect(withRetries(round, opts)).rejects.toMatchObject({ code: 'upstream_connection_failed' });
      expect(round).toHaveBeenCalledTimes(1);
      expect(jest.getTimerCount()).toBe(0); // the wait's timer is gone
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('abortableDelay', () => {
  it('resolves after its time and then stops listening to the signal', async () => {
    jest.useFakeTimers();
    try {
      const signal = new ClientSignal();
      const waiting = abortableDelay(500, signal);
      expect(signal.listenerCount('abort')).toBe(1);
      jest.advanceTimersByTime(500);
      await expect(waiting).resolves.toBeUndefined();
      expect(signal.listenerCount('abort')).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('rejects at once with an AbortError when the signal has already aborted', async () => {
    const signal = new ClientSignal();
    signal.abort();
    await expect(abortableDelay(3_600_000, signal)).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('withRetries over withFailover', () => {
  /** Targets whose every attempt fails with `failure`, counted. */
  function failing(...failures: (() => unknown)[]) {
    const targets = failures.map(
      (_, i) => ({ id: `t${i}`, residencyRefused: null }) as unknown as UpstreamTarget,
    );
    const tries: string[] = [];
    const attempt = async (target: UpstreamTarget): Promise<string> => {
      tries.push(target.id);
      throw failures[targets.indexOf(target)]!();
    };
    return { targets, tries, attempt };
  }

  it('goes over every upstream in each round: 2 upstreams and attempts 2 make 6 tries', async () => {
    const { targets, tries, attempt } = failing(
      () => new UpstreamStatusError(503),
      () => refused(),
    );
    let failovers = 0;
    const round = (seen: RoundFailures) => withFailover(targets, true, attempt, () => (failovers += 1), seen);
    const { opts, waits } = options();
    await expect(withRetries(round, opts)).rejects.toMatchObject({ code: 'upstream_unavailable' });
    expect(tries).toEqual(['t0', 't1', 't0', 't1', 't0', 't1']);
    expect(failovers).toBe(6);
    expect(waits).toEqual([100, 200]);
  });

  it("does not retry a round that ended with the request's own fault", async () => {
    const { targets, tries, attempt } = failing(
      () => new UpstreamStatusError(503),
      () => new ApiError('upstream_rejected', { upstreamStatus: 400 }),
    );
    const round = (seen: RoundFailures) => withFailover(targets, true, attempt, () => undefined, seen);
    await expect(withRetries(round, options().opts)).rejects.toMatchObject({ code: 'upstream_rejected' });
    expect(tries).toEqual(['t0', 't1']);
  });

  it('retries a round of a 503 and an open circuit, not one of a 500 and an open circuit', async () => {
    const overloaded = failing(
      () => new UpstreamStatusError(503),
      () => new BrokenCircuitError(),
    );
    const round = (seen: RoundFailures) =>
      withFailover(overloaded.targets, true, overloaded.attempt, () => undefined, seen);
    await expect(withRetries(round, options({ attempts: 1 }).opts)).rejects.toBeInstanceOf(ApiError);
    expect(overloaded.tries).toHaveLength(4);

    const broken = failing(
      () => new UpstreamStatusError(500),
      () => new BrokenCircuitError(),
    );
    const brokenRound = (seen: RoundFailures) =>
      withFailover(broken.targets, true, broken.attempt, () => undefined, seen);
    await expect(withRetries(brokenRound, options({ attempts: 1 }).opts)).rejects.toBeInstanceOf(ApiError);
    expect(broken.tries).toHaveLength(2);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');

  it('reads delay-seconds and HTTP dates, a past date as 0', () => {
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs(' 0.5 ', now)).toBe(500);
    expect(retryAfterMs(['2', '9'], now)).toBe(2000);
    expect(retryAfterMs('Tue, 01 Dec 2026 12:00:04 GMT', now)).toBe(4000);
    expect(retryAfterMs('Tue, 01 Dec 2026 11:00:00 GMT', now)).toBe(0);
  });

  it('is undefined when absent or unreadable', () => {
    expect(retryAfterMs(undefined, now)).toBeUndefined();
    expect(retryAfterMs('', now)).toBeUndefined();
    expect(retryAfterMs('-1', now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs('1 2', now)).toBeUndefined();
  });
});
