// How a chat completion is answered once its model is known: streams and plain answers relayed as they
// are; deterministic answers of models with a cache through the response cache; answers chosen by model
// "auto" annotated with `_routing` when the client sent `routing`. Media referenced by URL is refused or
// fetched and inlined first (media/remote-media.service.ts), once the model is known.
import { Inject, Injectable } from '@nestjs/common';
import { Answer } from '../../core/answer';
import type { CallContext } from '../../core/call-context';
import type { ResolvedModel } from '../../models/model-registry.service';
import { VLLM_CHAT } from '../../upstream/adapters/vllm-generation.adapter';
import { Relay } from '../../upstream/relay';
import { noteWholeAnswer, reshaped, usageOf } from '../../upstream/upstream-result';
import { RemoteMedia } from '../media/remote-media.service';
import type { ChatCompletionDto } from './chat-completion.dto';
import { ResponseCache } from './response-cache.service';
import { RoutingAnnotateTransform } from './routing-annotate.transform';
import type { RoutingDecision } from './routing-decision';

type ChatBody = ChatCompletionDto & { routing?: unknown };

/** A whole chat answer, and whether the response cache served it (`hit`), missed, or was not asked. */
export interface ChatJson {
  answer: Record<string, unknown>;
  cache?: 'hit' | 'miss';
}

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
    ctx: CallContext,
    routing?: RoutingDecision,
  ): Promise<Answer> {
    await this.media.inline('chat', body); // in place: a fallback to a second model finds nothing left
    const { routing: _routingRequest, ...clientBody } = body; // a gateway instruction, never sent upstream
    const call = VLLM_CHAT.call(clientBody, model);
    if (call.stream) {
      const result = await this.relay.stream(call, ctx);
      return Answer.stream(
        routing ? reshaped(result, new RoutingAnnotateTransform(routing)).events : result.events,
      );
    }
    if (!routing && !this.cache.enabledFor(model))
      return Answer.json((await this.relay.json(call, ctx)).text);
    const { answer, cache } = await this.fetchJson(model, { ...clientBody, model: model.id }, ctx);
    if (routing) Object.assign(answer, { model: model.id, _routing: routing });
    return Answer.json(answer, { headers: cacheHeader(cache) });
  }

  /**
   * The upstream's JSON answer to a non-stream chat request (`upstreamBody` already names the canonical
   * model id), from the response cache when the model has one and the request is deterministic.
   */
  async fetchJson(
    model: ResolvedModel,
    upstreamBody: Record<string, unknown>,
    ctx: CallContext,
  ): Promise<ChatJson> {
    const key = this.cache.keyFor(model, VLLM_CHAT.path, upstreamBody, ctx.principal);
    if (key) {
      const cached = this.cache.get(key, model);
      ctx.facts.cache = cached ? 'hit' : 'miss';
      if (cached) {
        const facts = ctx.facts;
        facts.model = model.id;
        facts.stream = false;
        noteWholeAnswer(facts, cached.usage); // served tokens are metered like any answer
        return { answer: JSON.parse(cached.text) as Record<string, unknown>, cache: 'hit' };
      }
    }
    const answer = await this.relay.through(VLLM_CHAT, upstreamBody, model, ctx);
    if (!key) return { answer };
    this.cache.set(key, model, { text: JSON.stringify(answer), usage: usageOf(answer) });
    return { answer, cache: 'miss' };
  }
}

/** `x-hunze-cache: hit|miss` on answers of models with a response cache. */
export function cacheHeader(cache: ChatJson['cache']): Record<string, string> {
  return cache ? { 'x-hunze-cache': cache } : {};
}
