import type { ResolvedModel } from '../../models/model-registry.service';
import type { UpstreamCall } from '../../upstream/upstream-result';

interface GenerationBody {
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
}

/**
 * The relay call for a text-generation endpoint (chat, completions): the alias becomes the canonical id,
 * and a stream always asks the upstream for usage, because metering needs the upstream's own token
 * counts; the relay hides the usage chunk again unless the client asked for it.
 */
export function generationCall(
  path: string,
  body: GenerationBody & object,
  model: ResolvedModel,
): UpstreamCall {
  const stream = body.stream === true;
  const upstreamBody = stream
    ? { ...body, model: model.id, stream_options: { ...body.stream_options, include_usage: true } }
    : { ...body, model: model.id };
  return {
    path,
    model,
    body: JSON.stringify(upstreamBody),
    stream,
    clientWantsUsage: body.stream_options?.include_usage === true,
  };
}
