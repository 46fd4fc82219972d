// How a request survives a failing upstream, before anything reached the client: failover to the model's
// next upstream, and fallback to a second model. Both know nothing of HTTP; the relay and the auto router
// apply them.
import { ApiError } from '../core/errors';
import { fromTransportError, fromUpstreamStatus, isAbort } from './upstream-errors';
import { BrokenCircuitError, UpstreamStatusError, type UpstreamTarget } from './upstream-target';

/**
 * Failover: tries `attempt` on each target in order until one succeeds. A catalogue error (the request's
 * own fault, e.g. a 4xx from the upstream) ends the search at once, so does the client going away; transport
 * failures, 5xx, 408/429 and open circuits move on, unless the body cannot be sent twice (`replayable`).
 * `onFailover` hears each failed attempt that may be followed by another.
 */
export async function withFailover<T>(
  targets: Iterable<UpstreamTarget>,
  replayable: boolean,
  attempt: (target: UpstreamTarget) => Promise<T>,
  onFailover: () => void,
): Promise<T> {
  // Built only when every upstream failed: an Error captures a stack trace, too dear for every request.
  let failure: ApiError | undefined;
  for (const target of targets) {
    try {
      return await attempt(target);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      if (isAbort(err)) throw new ApiError('upstream_connection_failed');
      failure = toFailure(err, target);
      if (!replayable) break;
      onFailover();
    }
  }
  throw failure ?? new ApiError('upstream_unavailable');
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
