import type { Principal } from './principal';
import type { CancelSignal, RequestFacts } from './request-context';

/**
 * What serving one request needs beyond its body, without HTTP: who asks, the id the upstream is told, the
 * signal that stops upstream work when the client goes away, and the record being made of the request
 * (the relay notes model, upstream, failovers, first byte, usage and stream errors in it).
 */
export interface CallContext {
  readonly requestId: string;
  readonly principal: Principal;
  readonly signal: CancelSignal;
  readonly facts: RequestFacts;
}
