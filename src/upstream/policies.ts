// How a request survives a failing upstream, before anything reached the client: failover to the model's
// next upstream, retries of the whole round after a backoff, and fallback to a second model. None knows
// anything of HTTP; the relay and the auto router apply them.
import { EventEmitter } from 'node:events';
import { ApiError } from '../core/errors';
import type { CancelSignal } from '../core/request-context';
import { fromTransportError, fromUpstreamStatus, isAbort, isConnectionFailure } from './upstream-errors';
import { BrokenCircuitError, UpstreamStatusError, type UpstreamTarget } from './upstream-target';

/** An upstream's `retry-after` longer than this is not waited for: the backoff applies instead. */
export const RETRY_AFTER_CAP_MS = 10_000;
/** No backoff wait is longer than this, however many retries came before. */
export const BACKOFF_CAP_MS = 60_000;

/**
 * Failover: tries `attempt` on each target in order until one succeeds. A catalogue error (the request's
 * own fault, e.g. a 4xx from the upstream) ends the search at once, so does the client going away; transport
 * failures, 5xx, 408/429 and open circuits move on, unless the body cannot be sent twice (`replayable`).
 * `onFailover` hears each failed attempt that may be followed by another; `failures`, when given, sees
 * every failure, for the retry policy.
 */
export async function withFailover<T>(
  targets: Iterable<UpstreamTarget>,
  replayable: boolean,
  attempt: (target: UpstreamTarget) => Promise<T>,
  onFailover: () => void,
  failures?: RoundFailures,
): Promise<T> {
  // Built only when every upstream failed: an Error captures a stack trace, too dear for every request.
  let failure: ApiError | undefined;
  for (const target of targets) {
    try {
      return await attempt(target);
    } catch (err) {
      failures?.note(err);
      if (err instanceof ApiError) throw err;
      if (isAbort(err)) throw clientGone();
      failure = toFailure(err, target);
      if (!replayable) break;
      onFailover();
    }
  }
  throw failure ?? new ApiError('upstream_unavailable');
}

/** What one round of failover saw of its failures, enough to decide whether another round may help. */
export class RoundFailures {
  /** The longest `retry-after` among the round's 429 and 503 answers. */
  retryAfterMs: number | undefined;
  private transient = false;
  private final = false;

  /** A 429, 503 or connection failure was seen, and nothing that makes another round pointless. */
  get retryable(): boolean {
    return this.transient && !this.final;
  }

  note(err: unknown): void {
    if (err instanceof ApiError || isAbort(err)) {
      this.final = true; // the request's own fault, or the client went away
    } else if (err instanceof UpstreamStatusError) {
      if (err.status !== 429 && err.status !== 503) return;
      this.transient = true;
      if (err.retryAfterMs !== undefined)
        this.retryAfterMs = Math.max(this.retryAfterMs ?? 0, err.retryAfterMs);
    } else if (isConnectionFailure(err)) {
      this.transient = true;
    }
  }
}

export interface RetryPolicy {
  /** Rounds after the first failed one; 0 = none. */
  readonly attempts: number;
  /** The first wait; each later one doubles it. */
  readonly backoffMs: number;
}

export interface RetryOptions extends RetryPolicy {
  /** False for a body that cannot be sent twice (a streamed upload): never retried. */
  readonly replayable: boolean;
  /** The client's: no retry once it aborted, and a wait ends the moment it does. */
  readonly signal: CancelSignal;
  /** Waits `ms`, or rejects with an AbortError as soon as `signal` aborts. Tests inject their own. */
  readonly delay?: (ms: number, signal: CancelSignal) => Promise<void>;
  /** The jitter's source, in [0, 1). */
  readonly random?: () => number;
}

/**
 * Retries: runs `round` (a failover over the model's upstreams) again, up to `attempts` more times, while
 * its failures were 429, 503 or connection failures (`RoundFailures`). Before each retry it waits the
 * upstreams' `retry-after` when one was given and is at most `RETRY_AFTER_CAP_MS`, else
 * `backoffMs × 2^n` (n = 0 for the first retry, at most `BACKOFF_CAP_MS`) less up to 25 % jitter. The
 * last round's failure is what the caller gets.
 */
export async function withRetries<T>(
  round: (failures: RoundFailures) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const { signal, delay = abortableDelay, random = Math.random } = options;
  for (let retry = 0; ; retry += 1) {
    const failures = new RoundFailures();
    try {
      return await round(failures);
    } catch (err) {
      if (retry >= options.attempts || !options.replayable || !failures.retryable) throw err;
      if (signal.aborted) throw clientGone();
      try {
        await delay(retryDelayMs(options, retry, failures.retryAfterMs, random), signal);
      } catch (waitErr) {
        throw isAbort(waitErr) ? clientGone() : waitErr;
      }
    }
  }
}

/** The wait before retry `retry` (0 for the first). */
export function retryDelayMs(
  policy: RetryPolicy,
  retry: number,
  retryAfterMs: number | undefined,
  random: () => number,
): number {
  if (retryAfterMs !== undefined && retryAfterMs <= RETRY_AFTER_CAP_MS) return retryAfterMs;
  const backoff = Math.min(policy.backoffMs * 2 ** retry, BACKOFF_CAP_MS);
  return Math.round(backoff * (1 - 0.25 * random()));
}

/** `ms`, or until `signal` aborts (then rejects with an AbortError at once, its timer cleared). */
export function abortableDelay(ms: number, signal: CancelSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError());
    const stop = onAbort(signal, () => {
      clearTimeout(timer);
      reject(abortError());
    });
    const timer = setTimeout(() => {
      stop();
      resolve();
    }, ms);
  });
}

/**
 * Fallback: when the first choice fails in a way another could fix (`canFallBack`), the second is tried
 * once, told why the first failed.
 */
export async function withFallback<T>(
  first: () => Promise<T>,
  second: ((firstFailure: ApiError) => Promise<T>) | undefined,
  canFallBack: (err: ApiError) => boolean,
): Promise<T> {
  try {
    return await first();
  } catch (err) {
    if (!second || !(err instanceof ApiError) || !canFallBack(err)) throw err;
    return second(err);
  }
}

function toFailure(err: unknown, target: UpstreamTarget): ApiError {
  // An open circuit must not hide why it opened: refusals by the residency guard stay residency_violation.
  if (err instanceof BrokenCircuitError)
    return new ApiError(target.residencyRefused ? 'residency_violation' : 'upstream_unavailable');
  if (err instanceof UpstreamStatusError) return fromUpstreamStatus(err.status);
  return fromTransportError(err);
}

/** The error a call ends with when its client went away (failover's, and the retries' alike). */
function clientGone(): ApiError {
  return new ApiError('upstream_connection_failed');
}

function abortError(): DOMException {
  return new DOMException('This operation was aborted', 'AbortError');
}

/** Listens for the signal's abort (an AbortSignal, or an EventEmitter such as ClientSignal); returns the undo. */
function onAbort(signal: CancelSignal, listener: () => void): () => void {
  if (signal instanceof EventEmitter) {
    signal.once('abort', listener);
    return () => signal.off('abort', listener);
  }
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}
