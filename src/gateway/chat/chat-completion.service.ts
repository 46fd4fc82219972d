// How a chat completion reaches the client once its model is known: streams and plain answers relayed as
// they are; deterministic answers of models with a cache through the response cache; answers chosen by
// model "auto" annotated with `_routing` when the client sent `routing`. Media referenced by URL is refused or
// fetched and inlined first (media/remote-media.service.ts), once the model is known.
import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { elapsedMs } from '../../core/request-context';
import type { ResolvedModel } from '../../models/model-registry.service';
import type { RoutingDecision } from './routing-decision';
import type { ChatCompletionDto } from './chat-completion.dto';
import { generationCall } from '../relay/generation-call';
import { RemoteMedia } from '../media/remote-media.service';
import { noteUsage, Relay } from '../relay/relay.service';
import { ResponseCache } from './response-cache.service';
import { RoutingAnnotateTransform } from './routing-annotate.transform';
import type { Usage } from '../../upstream/sse-relay.transform';

const CHAT_PATH = '/chat/completions';

type ChatBody = ChatCompletionDto & { routing?: unknown };

@Injectable()
export class ChatCompletionService {
  constructor(
    @Inject(Relay) private readonly relay: Relay,
    @Inject(ResponseCache) private readonly cache: ResponseCache,
    @Inject(RemoteMedia) private readonly media: RemoteMedia,
  ) {}

  async complete(
    model: ResolvedModel,
    body: ChatBody,
    req: FastifyRequest,
    reply: FastifyReply,
    routing?: RoutingDecision,
  ): Promise<void> {
    await this.media.inline('chat', body); // in place: a fallback to a second model finds nothing left
    const { routing: _routingRequest, ...clientBody } = body; // a gateway instruction, never sent upstream
    const call = generationCall(CHAT_PATH, clientBody, model);
    if (call.stream && routing)
      call.reshapeStream = {
        transform: () => new RoutingAnnotateTransform(routing),
        contentType: 'text/event-stream; charset=utf-8',
      };
    if (call.stream || (!routing && !this.cache.enabledFor(model))) {
      await this.relay.forward(call, req, reply);
      return;
    }
    const answer = await this.fetchJson(model, { ...clientBody, model: model.id }, req, reply);
    if (routing) Object.assign(answer, { model: model.id, _routing: routing });
    await reply.status(200).header('content-type', 'application/json').send(JSON.stringify(answer));
  }

  /**
   * The upstream's JSON answer to a non-stream chat request (`upstreamBody` already names the canonical
   * model id), from the response cache when the model has one and the request is deterministic.
   */
  async fetchJson(
    model: ResolvedModel,
    upstreamBody: Record<string, unknown>,
    req: FastifyRequest,
    reply: FastifyReply,
  ): Promise<Record<string, unknown>> {
    const key = this.cache.keyFor(model, CHAT_PATH, upstreamBody, req.principal!);
    if (key) {
      const cached = this.cache.get(key, model);
      req.facts.cache = cached ? 'hit' : 'miss';
      void reply.header('x-hunze-cache', req.facts.cache);
      if (cached) {
        req.facts.model = model.id;
        req.facts.stream = false;
        noteUsage(req.facts, cached.usage); // served tokens are metered like any answer
        req.facts.ttftMs = elapsedMs(req.facts.startedAt);
        return JSON.parse(cached.text) as Record<string, unknown>;
      }
    }
    const call = { path: CHAT_PATH, model, body: JSON.stringify(upstreamBody), stream: false };
    const answer = await this.relay.fetchJson(call, req, reply);
    if (key) this.cache.set(key, model, { text: JSON.stringify(answer), usage: usageOf(answer) });
    return answer;
  }
}

function usageOf(answer: Record<string, unknown>): Usage | null {
  const usage = answer.usage;
  return usage && typeof usage === 'object' ? usage : null;
}
