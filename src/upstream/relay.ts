// The one relay every /v1 endpoint goes through: the model's upstreams are tried in order until one gives a
// usable answer (the failover policy, policies.ts; in rounds after a backoff, when the model has retries),
// and the answer comes back as a result: a whole JSON object, or a stream of checked events. The same
// timeouts, cancellation, error mapping and usage capture hold for every endpoint; endpoints differ only in
// how they shape bodies. No HTTP here: the caller's context carries the request id, the client's abort
// signal and the record being made.
import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import type { Dispatcher } from 'undici';
import type { CallContext } from '../core/call-context';
import { ApiError } from '../core/errors';
import { elapsedMs, type RequestFacts } from '../core/request-context';
import type { ResolvedModel } from '../models/model-registry.service';
import type { BackendAdapter } from './adapters/backend-adapter';
import { withFailover, withRetries, type RoundFailures } from './policies';
import { parseJsonObject } from './sse-events.transform';
import { SseRelayTransform, type Usage } from './sse-relay.transform';
import { fromTransportError, fromUpstreamStatus, isAbort } from './upstream-errors';
import { UpstreamPools } from './upstream-pools.service';
import {
  noteUsage,
  noteWholeAnswer,
  usageOf,
  type JsonResult,
  type StreamResult,
  type UpstreamCall,
  type UpstreamResult,
} from './upstream-result';
import { UpstreamStatusError, type UpstreamTarget } from './upstream-target';

/** An upstream's usable answer, read as far as failover needs (the whole body, or a stream's first chunk). */
interface Exchange {
  target: UpstreamTarget;
  response: Dispatcher.ResponseData;
  /** Non-stream calls: the whole answer. */
  text: string;
  /** Stream calls: the first chunk (the rest follows on `response.body`, paused). */
  first: Buffer | null;
  /** Ends the upstream's in-flight count; call once the body is consumed. */
  release: () => void;
}

@Injectable()
export class Relay {
  constructor(@Inject(UpstreamPools) private readonly pools: UpstreamPools) {}

  /** The upstream's answer: whole for `stream: false`, event by event otherwise. */
  async send(call: UpstreamCall, ctx: CallContext): Promise<UpstreamResult> {
    const exchange = await this.exchange(call, ctx);
    return call.stream ? this.streamOf(call, exchange, ctx.facts) : this.jsonOf(exchange, ctx.facts);
  }

  /** A whole JSON answer, for endpoints that reshape it (embeddings merge, images, Gemini, ...). */
  async json(call: Omit<UpstreamCall, 'stream'>, ctx: CallContext): Promise<JsonResult> {
    const whole = { ...call, stream: false };
    return this.jsonOf(await this.exchange(whole, ctx), ctx.facts);
  }

  /** A whole answer from the backend `adapter` speaks to: its request for `input` sent, its answer read. */
  async through<In, Out>(
    adapter: BackendAdapter<In, Out>,
    input: In,
    model: ResolvedModel,
    ctx: CallContext,
  ): Promise<Out> {
    const call = { path: adapter.path, model, ...adapter.request(input, model) };
    return adapter.read((await this.json(call, ctx)).body, input);
  }

  /** The answer's events, for endpoints that reshape them (Gemini chunks, `_routing`). */
  async stream(call: Omit<UpstreamCall, 'stream'>, ctx: CallContext): Promise<StreamResult> {
    const streamed = { ...call, stream: true };
    return this.streamOf(streamed, await this.exchange(streamed, ctx), ctx.facts);
  }

  /**
   * Sends to the model's upstreams in order until one answers usably (2xx, or a 4xx that is the request's
   * fault). A body that breaks before anything reached the client (the whole answer for non-stream calls,
   * the first chunk for streams) counts as a failure of that upstream. With the model's `retries`, a round
   * that failed with 429, 503 or a connection failure goes over the upstreams again after a backoff; the
   * record's `failovers` counts every failed attempt of every round.
   */
  private exchange(call: UpstreamCall, ctx: CallContext): Promise<Exchange> {
    const { facts, signal } = ctx;
    facts.model = call.model.id;
    facts.stream = call.stream;
    const replayable = typeof call.body === 'string' || Buffer.isBuffer(call.body);
    const headers = { 'content-type': call.contentType ?? 'application/json', 'x-request-id': ctx.requestId };
    const attempt = async (target: UpstreamTarget): Promise<Exchange> => {
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
        const bodyBroke = response !== undefined && !(err instanceof ApiError) && !isAbort(err);
        if (bodyBroke) target.recordStreamFailure(); // send() had counted a success
        throw err;
      }
    };
    const failedOver = () => (facts.failovers = (facts.failovers ?? 0) + 1);
    const retries = call.model.config.retries;
    if (retries.attempts === 0 || !replayable)
      return withFailover(this.pools.candidates(call.model), replayable, attempt, failedOver);
    // Each round orders the upstreams afresh: circuits and requests in flight may have changed.
    const round = (failures: RoundFailures) =>
      withFailover(this.pools.candidates(call.model), replayable, attempt, failedOver, failures);
    return withRetries(round, { ...retries, replayable, signal });
  }

  /**
   * Parses a whole answer once: it must be a JSON object; its usage goes to the record. The whole parse
   * stays even where the client gets the text as sent and only usage is read: it is what proves the answer
   * JSON, and a check as strict written in JS (which could then parse only the usage object) measured
   * 1.3 to 2 times slower than V8's JSON.parse on 0.5 to 4.5 KB answers.
   */
  private jsonOf(exchange: Exchange, facts: RequestFacts): JsonResult {
    const body = parseJsonObject(exchange.text);
    if (!body) throw new ApiError('upstream_error', { upstreamStatus: exchange.response.statusCode });
    const usage = usageOf(body);
    noteWholeAnswer(facts, usage);
    return { kind: 'json', text: exchange.text, body, usage };
  }

  private streamOf(call: UpstreamCall, exchange: Exchange, facts: RequestFacts): StreamResult {
    const { response, target, release } = exchange;
    let settleUsage!: (usage: Usage | null) => void;
    const usage = new Promise<Usage | null>((resolve) => (settleUsage = resolve));
    const events = new SseRelayTransform({
      dropUsageChunk: call.clientWantsUsage !== true,
      onFirstEvent: () => (facts.ttftMs = elapsedMs(facts.startedAt)),
      onUsage: (seen) => {
        noteUsage(facts, seen); // at once: the record is journaled before the stream's last bytes
        settleUsage(seen);
      },
      onError: (code) => (facts.errorCode = code),
    });
    const body = response.body;
    if (exchange.first) events.write(exchange.first);
    body.on('data', (chunk: Buffer) => {
      if (!events.write(chunk)) body.pause();
    });
    body.resume();
    events.on('drain', () => body.resume());
    const ended = () => {
      release();
      events.end();
    };
    // A short answer may have ended while the first chunk was handed over, its 'end' already emitted.
    if (body.readableEnded) ended();
    else body.once('end', ended);
    body.once('error', (err) => {
      release();
      if (isAbort(err)) {
        events.destroy();
      } else {
        target.recordStreamFailure();
        events.fail(fromTransportError(err));
      }
    });
    events.once('close', () => {
      release();
      settleUsage(null); // no effect once usage came
      if (!body.readableEnded) body.destroy();
    });
    return { kind: 'stream', events, usage };
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

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      fn();
    }
  };
}
