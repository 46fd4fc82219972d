// Gemini generateContent / streamGenerateContent on a chat model: translate the request, send it through
// the one relay (non-stream answers through the response cache), translate the answer back.
import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../core/errors';
import { ModelRegistry } from '../../models/model-registry.service';
import { ChatCompletionService } from '../chat/chat-completion.service';
import { RemoteMedia } from '../media/remote-media.service';
import { Relay } from '../relay/relay.service';
import type { GenerateContentDto } from './generate-content.dto';
import { toChatRequest } from './gemini-request.translator';
import { fromChatCompletion } from './gemini-response.translator';
import { GeminiStreamTransform, type GeminiStreamFormat } from './gemini-stream.transform';

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
    req: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> {
    const { modelName, method } = parseModelPath(path);
    const model = this.models.resolveFor(modelName, req.principal!.allowedModels, 'chat');
    const stream = method === 'streamGenerateContent';
    await this.media.inline('gemini', body); // fileData → inlineData, or refused
    const upstreamBody = toChatRequest(body, model.id, stream);
    if (!stream) {
      const completion = await this.chat.fetchJson(model, upstreamBody, req, reply);
      const answer = fromChatCompletion(completion, model.id);
      await reply.status(200).header('content-type', 'application/json; charset=utf-8').send(answer);
      return;
    }
    await this.relay.forward(
      {
        path: '/chat/completions',
        model,
        body: JSON.stringify(upstreamBody),
        stream: true,
        clientWantsUsage: true, // the transform folds the usage chunk into the last Gemini response
        reshapeStream: {
          transform: () => new GeminiStreamTransform(model.id, format),
          contentType:
            format === 'sse' ? 'text/event-stream; charset=utf-8' : 'application/json; charset=utf-8',
        },
      },
      req,
      reply,
    );
  }
}
