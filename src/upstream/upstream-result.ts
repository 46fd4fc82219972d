// What the relay is asked to send and what it gives back, without HTTP: the caller turns a result into its
// answer (as it is, reshaped, or merged with others) and the reply writer sends that.
import type { Readable, Transform } from 'node:stream';
import { elapsedMs, type RequestFacts } from '../core/request-context';
import type { ResolvedModel } from '../models/model-registry.service';
import type { Usage } from './sse-relay.transform';

export interface UpstreamCall {
  /** Path below the upstream's baseUrl, e.g. `/chat/completions`. */
  path: string;
  model: ResolvedModel;
  /** The body for the upstream. A stream (multipart audio) cannot be replayed, so it gets no failover. */
  body: string | Buffer | Readable;
  /** Defaults to application/json. */
  contentType?: string;
  stream: boolean;
  /** Stream only: the client asked for the usage chunk itself. */
  clientWantsUsage?: boolean;
}

/** A whole answer: a JSON object, as text exactly as the upstream sent it and parsed. */
export interface JsonResult {
  readonly kind: 'json';
  readonly text: string;
  readonly body: Record<string, unknown>;
  readonly usage: Usage | null;
}

/**
 * A stream of server-sent events, already checked (usage taken, the usage chunk hidden unless asked for,
 * upstream errors as catalogue error events). `usage` settles when the stream ends (null: none came).
 */
export interface StreamResult {
  readonly kind: 'stream';
  readonly events: Readable;
  readonly usage: Promise<Usage | null>;
}

export type UpstreamResult = JsonResult | StreamResult;

/**
 * The stream passed through `transform` (into Gemini chunks, or with `_routing` on the first chunk). When
 * the client goes away, closing the reshaped stream stops the reading from the upstream.
 */
export function reshaped(result: StreamResult, transform: Transform): StreamResult {
  const events = result.events.pipe(transform);
  events.once('close', () => result.events.destroy());
  return { ...result, events };
}

/** Token counts as the upstream reported them, into the request's record (nonsense counts are left out). */
export function noteUsage(facts: RequestFacts, usage: Usage | null): void {
  if (!usage) return;
  const count = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined);
  facts.promptTokens = count(usage.prompt_tokens);
  facts.completionTokens = count(usage.completion_tokens);
  facts.totalTokens = count(usage.total_tokens);
}

/** A whole answer arrived: its usage and its time to first byte (the whole answer) go into the record. */
export function noteWholeAnswer(facts: RequestFacts, usage: Usage | null): void {
  noteUsage(facts, usage);
  facts.ttftMs = elapsedMs(facts.startedAt);
}

export function usageOf(answer: Record<string, unknown>): Usage | null {
  const usage = answer.usage;
  return usage && typeof usage === 'object' ? usage : null;
}
