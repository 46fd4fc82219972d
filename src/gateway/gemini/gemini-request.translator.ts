// Gemini GenerateContentRequest → OpenAI chat completion request (the body our chat upstreams speak).
// contents → messages (role model → assistant), systemInstruction → a system message, inline images → data
// URLs, generationConfig → the matching OpenAI/vLLM sampling fields. What cannot be translated faithfully
// (tools, cached content, other part types) is refused with a 400 naming the field, never dropped silently.
import { ApiError } from '../../core/errors';
import type { ContentDto, GenerateContentDto, GenerationConfigDto, PartDto } from './generate-content.dto';

type ChatPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string } }
  | { type: 'input_audio'; input_audio: { data: string; format: 'wav' | 'mp3' } };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | ChatPart[];
}

const IMAGE_TYPES = /^image\/(png|jpeg|webp|gif|heic|heif)$/;
const AUDIO_FORMATS: Readonly<Record<string, 'wav' | 'mp3'>> = {
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/mp3': 'mp3',
  'audio/mpeg': 'mp3',
};
// Standard or URL-safe base64 (Google accepts both); linear, so safe on large payloads.
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function invalid(param: string, reason: string): ApiError {
  return new ApiError('invalid_request_error', { param, reason }, param);
}

/** The chat request body for `modelId`; `stream` also asks the upstream for usage (metering needs it). */
export function toChatRequest(
  body: GenerateContentDto,
  modelId: string,
  stream: boolean,
): Record<string, unknown> {
  refuseUntranslatable(body);
  const messages: ChatMessage[] = [];
  if (body.systemInstruction) {
    const text = textOnly(body.systemInstruction.parts, 'systemInstruction');
    if (text) messages.push({ role: 'system', content: text });
  }
  body.contents.forEach((content, i) => {
    const message = toMessage(content, `contents[${i}]`);
    if (message) messages.push(message);
  });
  if (messages.every((m) => m.role === 'system'))
    throw invalid('contents', 'must contain at least one non-empty user or model turn');
  return {
    model: modelId,
    messages,
    ...sampling(body.generationConfig),
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  };
}

function refuseUntranslatable(body: GenerateContentDto): void {
  if (body.tools && body.tools.length > 0) throw invalid('tools', 'is not supported by this gateway');
  if (body.toolConfig) throw invalid('toolConfig', 'is not supported by this gateway');
  if (body.cachedContent !== undefined) throw invalid('cachedContent', 'is not supported by this gateway');
}

function toMessage(content: ContentDto, path: string): ChatMessage | undefined {
  const parts = content.parts
    .map((part, j) => ({ part, path: `${path}.parts[${j}]` }))
    .filter(({ part }) => part.thought !== true); // earlier thoughts are not replayed as input (as Google does)
  if (content.role === 'model') {
    const text = textOnly(
      parts.map((p) => p.part),
      `${path}.parts`,
    );
    return text ? { role: 'assistant', content: text } : undefined;
  }
  const chatParts = parts.map(({ part, path: p }) => toChatPart(part, p));
  if (chatParts.length === 0) return undefined;
  const only = chatParts[0];
  if (chatParts.length === 1 && only?.type === 'text') return { role: 'user', content: only.text };
  return { role: 'user', content: chatParts };
}

function toChatPart(part: PartDto, path: string): ChatPart {
  if (part.text !== undefined && part.inlineData === undefined) return { type: 'text', text: part.text };
  if (part.inlineData === undefined || part.text !== undefined)
    throw invalid(path, 'must have exactly one of text or inlineData (other part types are not supported)');
  const { mimeType, data } = part.inlineData;
  if (!BASE64.test(data)) throw invalid(`${path}.inlineData.data`, 'must be base64');
  const type = mimeType.toLowerCase();
  if (IMAGE_TYPES.test(type)) return { type: 'image_url', image_url: { url: `data:${type};base64,${data}` } };
  const format = AUDIO_FORMATS[type];
  if (format) return { type: 'input_audio', input_audio: { data, format } };
  throw invalid(`${path}.inlineData.mimeType`, 'is not a supported media type');
}

/** Text parts joined; any other part type is refused (system and model turns are text in chat requests). */
function textOnly(parts: readonly PartDto[], path: string): string {
  return parts
    .map((part, j) => {
      if (part.text === undefined || part.inlineData !== undefined)
        throw invalid(`${path}[${j}]`, 'must be a text part');
      return part.thought === true ? '' : part.text;
    })
    .join('');
}

function sampling(config: GenerationConfigDto | undefined): Record<string, unknown> {
  if (!config) return {};
  const out: Record<string, unknown> = {
    temperature: config.temperature,
    top_p: config.topP,
    top_k: config.topK, // a vLLM extra
    n: config.candidateCount,
    max_tokens: config.maxOutputTokens,
    stop: config.stopSequences,
    seed: config.seed,
    presence_penalty: config.presencePenalty,
    frequency_penalty: config.frequencyPenalty,
    response_format: responseFormat(config),
  };
  for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
  return out;
}

function responseFormat(config: GenerationConfigDto): Record<string, unknown> | undefined {
  const schema =
    config.responseJsonSchema ?? (config.responseSchema && openApiToJsonSchema(config.responseSchema));
  if (schema) return { type: 'json_schema', json_schema: { name: 'response', schema } };
  return config.responseMimeType === 'application/json' ? { type: 'json_object' } : undefined;
}

/** Gemini's responseSchema is an OpenAPI subset with upper-case type names (OBJECT, STRING, ...). */
export function openApiToJsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(openApiToJsonSchema);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema as Record<string, unknown>)) {
    if (key === 'type' && typeof value === 'string') out[key] = value.toLowerCase();
    else if (key === 'properties' && value && typeof value === 'object')
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, openApiToJsonSchema(v)]),
      );
    else if (key === 'items' || key === 'anyOf') out[key] = openApiToJsonSchema(value);
    else out[key] = value;
  }
  return out;
}
