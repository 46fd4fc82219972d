// OpenAI chat completion (and its stream chunks) → Gemini GenerateContentResponse: choices → candidates
// (role "model", text parts; vLLM's reasoning text as a `thought` part), finish_reason → finishReason,
// usage → usageMetadata, the model id → modelVersion.
import { ApiError } from '../../core/errors';

type Obj = Record<string, unknown>;

export interface GeminiPart {
  text: string;
  thought?: true;
}

export interface GeminiCandidate {
  content: { role: 'model'; parts: GeminiPart[] };
  finishReason?: string;
  index: number;
}

export interface UsageMetadata {
  promptTokenCount: number;
  candidatesTokenCount: number;
  totalTokenCount: number;
}

export interface GeminiResponse {
  candidates: GeminiCandidate[];
  usageMetadata?: UsageMetadata;
  modelVersion: string;
  responseId?: string;
}

const FINISH: Readonly<Record<string, string>> = {
  stop: 'STOP',
  length: 'MAX_TOKENS',
  content_filter: 'SAFETY',
};

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);

/** OpenAI's finish_reason as Gemini's; tool calls and anything unknown are OTHER, none yet is undefined. */
export function finishReasonOf(reason: unknown): string | undefined {
  if (reason === null || reason === undefined) return undefined;
  return (typeof reason === 'string' && FINISH[reason]) || 'OTHER';
}

export function usageMetadataOf(usage: unknown): UsageMetadata | undefined {
  if (!isObj(usage)) return undefined;
  const prompt = count(usage.prompt_tokens);
  const candidates = count(usage.completion_tokens);
  return {
    promptTokenCount: prompt,
    candidatesTokenCount: candidates,
    totalTokenCount: count(usage.total_tokens) || prompt + candidates,
  };
}

/** A whole (non-stream) chat completion. An answer without choices is the upstream's fault (502). */
export function fromChatCompletion(completion: Obj, modelId: string): GeminiResponse {
  const choices = completion.choices;
  if (!Array.isArray(choices)) throw new ApiError('upstream_error', { upstreamStatus: 200 });
  const candidates = choices.filter(isObj).map((choice, i) => {
    const message = isObj(choice.message) ? choice.message : {};
    return candidate(choice, i, message);
  });
  return withMeta({ candidates }, completion, modelId);
}

/** One stream chunk, or null when it says nothing a Gemini client sees (role-only or usage-only chunks). */
export function fromChatChunk(chunk: Obj, modelId: string): GeminiResponse | null {
  const choices = Array.isArray(chunk.choices) ? chunk.choices.filter(isObj) : [];
  const candidates = choices
    .map((choice, i) => candidate(choice, i, isObj(choice.delta) ? choice.delta : {}))
    .filter((c) => c.finishReason !== undefined || c.content.parts.some((p) => p.text !== ''));
  if (candidates.length === 0) return null;
  return withMeta({ candidates }, { ...chunk, usage: undefined }, modelId);
}

function candidate(choice: Obj, position: number, message: Obj): GeminiCandidate {
  const parts: GeminiPart[] = [];
  const reasoning = message.reasoning_content ?? message.reasoning;
  if (typeof reasoning === 'string' && reasoning !== '') parts.push({ text: reasoning, thought: true });
  parts.push({ text: typeof message.content === 'string' ? message.content : '' });
  const finishReason = finishReasonOf(choice.finish_reason);
  return {
    content: { role: 'model', parts },
    ...(finishReason ? { finishReason } : {}),
    index: typeof choice.index === 'number' ? choice.index : position,
  };
}

function withMeta(response: { candidates: GeminiCandidate[] }, source: Obj, modelId: string): GeminiResponse {
  const usageMetadata = usageMetadataOf(source.usage);
  return {
    ...response,
    ...(usageMetadata ? { usageMetadata } : {}),
    modelVersion: modelId,
    ...(typeof source.id === 'string' ? { responseId: source.id } : {}),
  };
}
