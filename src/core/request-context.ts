import type { EventEmitter } from 'node:events';
import type {} from 'fastify';
import type { RequestRecord } from './request-record';
import type { ErrorCode } from './errors';

/** Record fields the recorder takes from the request itself (metering/request-recorder.ts), not its handlers. */
type RecorderFields =
  'time' | 'requestId' | 'method' | 'endpoint' | 'status' | 'latencyMs' | 'keyId' | 'account';

/**
 * What a request's handlers learn about it, for the record written when it ends: the record's other fields,
 * typed by its schema (src/core/request-record.ts), plus what only the recorder needs.
 */
export type RequestFacts = Partial<Omit<RequestRecord, RecorderFields | 'errorCode'>> & {
  startedAt: bigint;
  /** Only catalogue codes are set here; the record types it as text, as rows read back from disk are. */
  errorCode?: ErrorCode;
  /** The client went away before the answer was complete. */
  clientClosed?: boolean;
};

/**
 * What stops upstream work when the client goes away, as undici's `signal` takes it: an AbortSignal, or an
 * EventEmitter that emits 'abort' (what requests get: src/http/client-signal.ts, the cheaper of the two).
 */
export type CancelSignal = AbortSignal | (EventEmitter & { readonly aborted: boolean });

declare module 'fastify' {
  interface FastifyRequest {
    facts: RequestFacts;
    /**
     * Aborts when the client goes away before its answer is complete, so upstream work stops at once (made
     * on first use by src/http/http-setup.ts, which knows the response).
     */
    readonly clientSignal: CancelSignal;
  }
}

export function elapsedMs(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6;
}
