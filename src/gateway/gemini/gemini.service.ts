// Gemini generateContent / streamGenerateContent on a chat model: translate the request, send it through
// the one relay (non-stream answers through the response cache), translate the answer back.
import { Inject, Injectable } from '@nestjs/common';
import { Answer } from '../../core/answer';
import type { CallContext } from '../../core/call-context';
import { ApiError } from '../../core/errors';
import { ModelRegistry } from '../../models/model-registry.service';
import { cacheHeader, ChatCompletionService } from '../chat/chat-completion.service';
import { RemoteMedia } from '../media/remote-media.service';
import { VLLM_CHAT } from '../../upstream/adapters/vllm-generation.adapter';
import { Relay } from '../../upstream/relay';
import { reshaped } from '../../upstream/upstream-result';
import type { GenerateContentDto } from './generate-content.dto';
import { toChatRequest } from './gemini-request.translator';
import { fromChatCompletion } from './gemini-response.translator';
import { GeminiStreamTransform, type GeminiStreamFormat } from './gemini-stream.transform';

const SSE = 'text/event-stream; charset=utf-8';
const JSON_UTF8 = 'application/json; charset=utf-8';

export type GeminiMethod = 'generateContent' | 'streamGenerateContent';

/** `Qwen/Qwen3.6-35B-A3B-FP8:generateContent` → model name and method; anything else is 404. */
export function parseModelPath(path: string): { modelName: string; method: GeminiMethod } {
  const colon = path.lastIndexOf(':');
  const method = path.slice(colon + 1);
  if (colon <= 0 || (method !== 'generateContent' && method !== 'streamGenerateContent'))
    throw new ApiError('not_found');
  let modelName: string;
  try {
    modelName = decodeURIComponent(path.slice(0, colon));
  } catch {
    throw new ApiError('model_not_found', {}, 'model');
  }
  return { modelName, method };
}

@Injectable()
export class GeminiService {
  constructor(
    @Inject(ModelRegistry) private readonly models: ModelRegistry,
    @Inject(Relay) private readonly relay: Relay,
    @Inject(ChatCompletionService) private readonly chat: ChatCompletionService,
    @Inject(RemoteMedia) private readonly media: RemoteMedia,
  ) {}

  async generate(
    path: string,
    body: GenerateContentDto,
    format: GeminiStreamFormat,
    ctx: CallContext,
  ): Promise<Answer> {
    const { modelName, method } = parseModelPath(path);
    const model = this.models.resolveFor(modelName, ctx.principal.allowedModels, 'chat');
    const stream = method === 'streamGenerateContent';
    await this.media.inline('gemini', body); // fileData → inlineData, or refused
    const upstreamBody = toChatRequest(body, model.id, stream);
    if (!stream) {
      const { answer, cache } = await this.chat.fetchJson(model, upstreamBody, ctx);
      const translated = fromChatCompletion(answer, model.id);
      return Answer.json(translated, { headers: cacheHeader(cache), contentType: JSON_UTF8 });
    }
    const call = VLLM_CHAT.call(upstreamBody, model); // asks for usage, which the transform folds in
    const result = reshaped(await this.relay.stream(call, ctx), new GeminiStreamTransform(model.id, format));
    return Answer.stream(result.events, format === 'sse' ? SSE : JSON_UTF8);
  }
}
