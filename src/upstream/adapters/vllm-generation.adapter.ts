// vLLM (and any OpenAI-compatible server) specifics of the text-generation endpoints, /chat/completions and
// /completions: the client's body with the canonical model id, and for a stream always the usage chunk,
// because metering needs the upstream's own token counts (the relay hides it again unless the client asked
// for it). Whole answers are relayed as the upstream sent them.
import type { ResolvedModel } from '../../models/model-registry.service';
import type { UpstreamCall } from '../upstream-result';
import type { BackendAdapter, BackendRequest } from './backend-adapter';

/** The fields of a chat or completion body this adapter reads; the rest is passed on as it is. */
export interface GenerationBody {
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
}

export class VllmGenerationAdapter implements BackendAdapter<GenerationBody, Record<string, unknown>> {
  constructor(readonly path: '/chat/completions' | '/completions') {}

  request(body: GenerationBody, model: ResolvedModel): BackendRequest {
    const upstreamBody =
      body.stream === true
        ? { ...body, model: model.id, stream_options: { ...body.stream_options, include_usage: true } }
        : { ...body, model: model.id };
    return { body: JSON.stringify(upstreamBody) };
  }

  read(answer: Record<string, unknown>): Record<string, unknown> {
    return answer;
  }

  /** The relay call for a body as the client sent it, stream or not. */
  call(body: GenerationBody, model: ResolvedModel): UpstreamCall {
    return {
      path: this.path,
      model,
      ...this.request(body, model),
      stream: body.stream === true,
      clientWantsUsage: body.stream_options?.include_usage === true,
    };
  }
}

export const VLLM_CHAT = new VllmGenerationAdapter('/chat/completions');
export const VLLM_COMPLETIONS = new VllmGenerationAdapter('/completions');
