// The one relay every /v1 endpoint goes through: pick an upstream, send, and hand the answer back (whole,
// or streamed event by event), with the same timeouts, cancellation, error mapping and usage capture.
// Endpoints differ only in how they validate and shape the upstream body, not in how they proxy.
import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import { ApiError } from '../common/errors';
import { elapsedMs, type RequestFacts } from '../common/request-context';
import type { ResolvedModel } from '../models/model-registry.service';
import { SseRelayTransform, type Usage } from './sse-relay.transform';
import { fromTransportError, fromUpstreamStatus, isAbort } from './upstream-errors';
import { UpstreamPools, type UpstreamTarget } from './upstream-pools.service';

export interface RelayCall {
  /** Path below the upstream's baseUrl, e.g. `/chat/completions`. */
  path: string;
  model: ResolvedModel;
  /** The JSON body for the upstream (alias already rewritten). */
  body: string;
  stream: boolean;
  /** Stream only: the client asked for the usage chunk itself. */
  clientWantsUsage: boolean;
}

@Injectable()
export class Relay {
  constructor(@Inject(UpstreamPools) private readonly pools: UpstreamPools) {}

  async forward(call: RelayCall, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const facts = req.facts;
    facts.model = call.model.id;
    facts.stream = call.stream;
    const target = this.pools.pick(call.model);
    facts.upstream = target.id;

    // A client that goes away cancels the upstream request at once (the GPU stops generating).
    const abort = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) {
        facts.clientClosed = true;
        abort.abort();
      }
    });

    const release = once(() => (target.inFlight -= 1));
    target.inFlight += 1;
    let response: Dispatcher.ResponseData;
    try {
      response = await target.pool.request({
        path: target.basePath + call.path,
        method: 'POST',
        headers: upstreamHeaders(target, req.id),
        body: call.body,
        signal: abort.signal,
      });
    } catch (err) {
      release();
      if (isAbort(err)) throw new ApiError('upstream_connection_failed');
      target.markFailure();
      throw fromTransportError(err);
    }
    if (response.statusCode >= 500) target.markFailure();
    else target.markSuccess();
    if (response.statusCode >= 400) {
      release();
      await response.body.dump().catch(() => undefined); // never read: it may quote the prompt
      throw fromUpstreamStatus(response.statusCode);
    }
    if (call.stream) this.relayStream(call, response, facts, reply, abort, release);
    else await this.relayWhole(response, facts, reply, release);
  }

  private async relayWhole(
    response: Dispatcher.ResponseData,
    facts: RequestFacts,
    reply: FastifyReply,
    release: () => void,
  ): Promise<void> {
    let text: string;
    try {
      text = await response.body.text();
    } catch (err) {
      throw isAbort(err) ? new ApiError('upstream_connection_failed') : fromTransportError(err);
    } finally {
      release();
    }
    const usage = usageOf(text);
    if (usage === undefined) throw new ApiError('upstream_error', { upstreamStatus: response.statusCode });
    noteUsage(facts, usage);
    facts.ttftMs = elapsedMs(facts.startedAt);
    await reply.status(200).header('content-type', 'application/json').send(text);
  }

  private relayStream(
    call: RelayCall,
    response: Dispatcher.ResponseData,
    facts: RequestFacts,
    reply: FastifyReply,
    abort: AbortController,
    release: () => void,
  ): void {
    const relay = new SseRelayTransform({
      dropUsageChunk: !call.clientWantsUsage,
      onFirstEvent: () => (facts.ttftMs = elapsedMs(facts.startedAt)),
      onUsage: (usage) => noteUsage(facts, usage),
      onError: (code) => (facts.errorCode = code),
    });
    const body = response.body;
    body.on('data', (chunk: Buffer) => {
      if (!relay.write(chunk)) body.pause();
    });
    relay.on('drain', () => body.resume());
    body.once('end', () => {
      release();
      relay.end();
    });
    body.once('error', (err) => {
      release();
      if (isAbort(err)) relay.destroy();
      else relay.fail(fromTransportError(err));
    });
    relay.once('close', () => {
      release();
      if (!body.readableEnded) abort.abort();
    });
    void reply
      .status(200)
      .headers({
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
      })
      .send(relay);
  }
}

function upstreamHeaders(target: UpstreamTarget, requestId: string): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': requestId };
  if (target.authorization) headers.authorization = target.authorization;
  return headers;
}

/** The usage object of a whole JSON answer; undefined when the answer is not a JSON object at all. */
function usageOf(text: string): Usage | null | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const usage = (value as { usage?: unknown }).usage;
    return usage && typeof usage === 'object' ? usage : null;
  } catch {
    return undefined;
  }
}

function noteUsage(facts: RequestFacts, usage: Usage | null): void {
  if (!usage) return;
  const count = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined);
  facts.promptTokens = count(usage.prompt_tokens);
  facts.completionTokens = count(usage.completion_tokens);
  facts.totalTokens = count(usage.total_tokens);
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      fn();
    }
  };
}
