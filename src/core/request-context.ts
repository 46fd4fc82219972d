import type {} from 'fastify';
import type { ErrorCode } from './errors';

/**
 * What a request's handlers learn about it, for the metadata record written when it ends.
 * Only our own values: ids, names from config, numbers and catalogue codes.
 */
export interface RequestFacts {
  startedAt: bigint;
  model?: string;
  upstream?: string;
  /** Upstreams tried and given up on before the one that answered. */
  failovers?: number;
  stream?: boolean;
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
  ttftMs?: number;
  /** Audio endpoints: seconds of audio transcribed (a number, never the audio). */
  audioSeconds?: number;
  errorCode?: ErrorCode;
  /** The client went away before the answer was complete. */
  clientClosed?: boolean;
  /** A cacheable request (models[].cache): answered from the response cache, or not. */
  cache?: 'hit' | 'miss';
}

declare module 'fastify' {
  interface FastifyRequest {
    facts: RequestFacts;
  }
}

export function elapsedMs(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6;
}
