// The one relay every /v1 endpoint goes through: try the model's upstreams in order until one gives a usable
// answer (failover is possible until a byte reaches the client), then hand the answer back whole or event by
// event, with the same timeouts, cancellation, error mapping and usage capture for every endpoint.
// Endpoints differ only in how they validate and shape bodies (adapters), not in how they proxy.
import type { Readable, Transform } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import { ApiError } from '../../core/errors';
import { elapsedMs, type RequestFacts } from '../../core/request-context';
import { MetricsService } from '../../metering/metrics.service';
import type { ResolvedModel } from '../../models/model-registry.service';
import { parseJsonObject } from '../../upstream/sse-events.transform';
import { SseRelayTransform, type Usage } from '../../upstream/sse-relay.transform';
import { fromTransportError, fromUpstreamStatus, isAbort } from '../../upstream/upstream-errors';
import { UpstreamPools } from '../../upstream/upstream-pools.service';
import { BrokenCircuitError, UpstreamStatusError, type UpstreamTarget } from '../../upstream/upstream-target';

export interface RelayCall {
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
  /**
   * Stream only: reshapes the relayed SSE (already checked: usage taken, errors as catalogue error events)
   * before it reaches the client, e.g. into Gemini chunks or to add `_routing` to the first chunk.
   */
  reshapeStream?: { transform: () => Transform; contentType: string };
}

export interface Exchange {
  target: UpstreamTarget;
  response: Dispatcher.ResponseData;
  /** Non-stream calls: the whole answer, read inside the failover loop. */
  text: string;
  /** Stream calls: the first chunk, awaited inside the failover loop (the rest follows on `response.body`). */
  first: Buffer | null;
  /** Ends the upstream's in-flight count; call once the body is consumed. */
  release: () => void;
}

const clientSignals = new WeakMap<FastifyRequest, AbortSignal>();

/** Aborts when the client goes away before its answer is complete (the GPU stops generating at once). */
export function clientAbortSignal(req: FastifyRequest, reply: FastifyReply): AbortSignal {
  let signal = clientSignals.get(req);
  if (!signal) {
    const controller = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) {
        req.facts.clientClosed = true;
        controller.abort();
      }
    });
    signal = controller.signal;
    clientSignals.set(req, signal);
  }
  return signal;
}

@Injectable()
export class Relay {
  constructor(
    @Inject(UpstreamPools) private readonly pools: UpstreamPools,
    @Inject(MetricsService) private readonly metrics: MetricsService,
  ) {}

  /** Relays the upstream's answer to the client as it is (JSON whole, or SSE event by event). */
  async forward(call: RelayCall, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const exchange = await this.exchange(call, req, reply);
    if (call.stream) return this.relayStream(call, exchange, req.facts, reply);
    this.readJson(exchange, req.facts); // checks the answer and takes its usage; the client gets it as sent
    await reply.status(200).header('content-type', 'application/json').send(exchange.text);
  }

  /** The upstream's JSON answer, for endpoints that reshape it (embeddings merge, images, Gemini, ...). */
  async fetchJson(
    call: RelayCall,
    req: FastifyRequest,
    reply: FastifyReply,
  ): Promise<Record<string, unknown>> {
    const exchange = await this.exchange(call, req, reply);
    return this.readJson(exchange, req.facts);
  }

  /**
   * Sends to the model's upstreams in order until one answers usably (2xx, or a 4xx that is the request's
   * fault). Transport failures, 5xx, 408/429, open circuits, and a body that breaks before anything reached
   * the client (the whole answer for non-stream calls, the first chunk for streams) move on to the next.
   */
  async exchange(call: RelayCall, req: FastifyRequest, reply: FastifyReply): Promise<Exchange> {
    const facts = req.facts;
    facts.model = call.model.id;
    facts.stream = call.stream;
    const signal = clientAbortSignal(req, reply);
    const replayable = typeof call.body === 'string' || Buffer.isBuffer(call.body);
    const headers = { 'content-type': call.contentType ?? 'application/json', 'x-request-id': req.id };
    // Built only when every upstream failed: an Error captures a stack trace, too dear for every request.
    let failure: ApiError | undefined;
    for (const target of this.pools.candidates(call.model)) {
      facts.upstream = target.id;
      target.inFlight += 1;
      const release = once(() => (target.inFlight -= 1));
      let response: Dispatcher.ResponseData | undefined;
      try {
        response = await target.send({ path: call.path, body: call.body, headers, signal });
        if (response.statusCode >= 400) {
          await response.body.dump().catch(() => undefined); // never read: it may quote the prompt
          throw fromUpstreamStatus(response.statusCode);
        }
        if (call.stream) {
          const first = await firstChunk(response.body);
          if (first === null) throw new UpstreamStatusError(response.statusCode); // ended with nothing
          return { target, response, release, first, text: '' };
        }
        const text = await response.body.text();
        release();
        return { target, response, release, first: null, text };
      } catch (err) {
        release();
        if (err instanceof ApiError) throw err;
        if (isAbort(err)) throw new ApiError('upstream_connection_failed');
        if (response) target.recordStreamFailure(); // the body broke after send() had counted a success
        failure = toFailure(err, target);
        if (!replayable) break;
        facts.failovers = (facts.failovers ?? 0) + 1;
      }
    }
    throw failure ?? new ApiError('upstream_unavailable');
  }

  /** Parses a whole answer once: it must be a JSON object; its usage goes to the metadata record. */
  private readJson(exchange: Exchange, facts: RequestFacts): Record<string, unknown> {
    const answer = parseJsonObject(exchange.text);
    if (!answer) throw new ApiError('upstream_error', { upstreamStatus: exchange.response.statusCode });
    const usage = answer.usage;
    noteUsage(facts, usage && typeof usage === 'object' ? usage : null);
    facts.ttftMs = elapsedMs(facts.startedAt);
    return answer;
  }

  private relayStream(call: RelayCall, exchange: Exchange, facts: RequestFacts, reply: FastifyReply): void {
    const { response, target, release } = exchange;
    const relay = new SseRelayTransform({
      dropUsageChunk: call.clientWantsUsage !== true,
      onFirstEvent: () => (facts.ttftMs = elapsedMs(facts.startedAt)),
      onUsage: (usage) => noteUsage(facts, usage),
      onError: (code) => (facts.errorCode = code),
    });
    const body = response.body;
    if (exchange.first) relay.write(exchange.first);
    body.on('data', (chunk: Buffer) => {
      if (!relay.write(chunk)) body.pause();
    });
    body.resume();
    relay.on('drain', () => body.resume());
    body.once('end', () => {
      release();
      relay.end();
    });
    body.once('error', (err) => {
      release();
      if (isAbort(err)) {
        relay.destroy();
      } else {
        target.recordStreamFailure();
        relay.fail(fromTransportError(err));
      }
    });
    relay.once('close', () => {
      release();
      if (!body.readableEnded) body.destroy();
    });
    // hunze_open_streams: closed by whichever comes first, the relay ending or the client connection closing
    // (finished, aborted, or already gone before the stream began).
    const streamClosed = this.metrics.streamOpened();
    relay.once('close', streamClosed);
    reply.raw.once('close', streamClosed);
    if (reply.raw.closed) streamClosed();
    const reshape = call.reshapeStream;
    const out = reshape ? relay.pipe(reshape.transform()) : relay;
    if (out !== relay) out.once('close', () => relay.destroy()); // client gone: stop reading upstream
    void reply
      .status(200)
      .headers({
        'content-type': reshape?.contentType ?? 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
      })
      .send(out);
  }
}

/** Waits for the body's first chunk (null: it ended empty) and leaves the body paused. */
function firstChunk(body: Readable): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const settle = (fn: () => void) => {
      body.off('data', onData).off('end', onEnd).off('error', onError);
      fn();
    };
    const onData = (chunk: Buffer) => settle(() => (body.pause(), resolve(chunk)));
    const onEnd = () => settle(() => resolve(null));
    const onError = (err: Error) => settle(() => reject(err));
    body.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

function toFailure(err: unknown, target: UpstreamTarget): ApiError {
  // An open circuit must not hide why it opened: refusals by the residency guard stay residency_violation.
  if (err instanceof BrokenCircuitError)
    return new ApiError(target.residencyRefused ? 'residency_violation' : 'upstream_unavailable');
  if (err instanceof UpstreamStatusError) return fromUpstreamStatus(err.status);
  return fromTransportError(err);
}

export function noteUsage(facts: RequestFacts, usage: Usage | null): void {
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
