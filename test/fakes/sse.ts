// Wire-format builders for the fake vLLM server. Objects are written literally in vLLM's (pydantic)
// field order, so raw bodies look byte-for-byte like the real server's.
import { randomUUID } from 'node:crypto';

export interface Usage {
  prompt_tokens: number;
  total_tokens: number;
  completion_tokens: number;
}

export const randomId = (): string => randomUUID().replace(/-/g, '');
export const nowSec = (): number => Math.floor(Date.now() / 1000);
export const usage = (prompt: number, completion: number): Usage => ({
  prompt_tokens: prompt,
  total_tokens: prompt + completion,
  completion_tokens: completion,
});

/** One SSE event, framed as vLLM frames it (no `event:` lines, blank line terminator). */
export const sseEvent = (payload: unknown): string => `data: ${JSON.stringify(payload)}\n\n`;
export const SSE_DONE = 'data: [DONE]\n\n';

/** Word pieces that keep their whitespace, so joining them gives the text back unchanged. */
export function wordPieces(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? (text ? [text] : []);
}
export const countWords = (text: string): number => text.split(/\s+/).filter(Boolean).length;

/** vLLM picks the error type from the status (create_error_response's err_type). */
export function errorType(status: number): string {
  if (status === 404) return 'NotFoundError';
  if (status >= 500) return 'InternalServerError';
  return 'BadRequestError';
}
/** vLLM >= 0.10.1 error body (`code` is the integer status). */
export const vllmError = (message: string, status: number) => ({
  error: { message, type: errorType(status), param: null, code: status },
});
/** vLLM < 0.10.1 flat error body. */
export const vllmErrorOld = (message: string, status: number) => ({
  object: 'error',
  message,
  type: errorType(status),
  param: null,
  code: status,
});

/** Everything one generation answer needs, streamed or not. */
export interface GenSpec {
  model: string;
  choices: number; // total choices (n, times the prompt count for /v1/completions)
  text: string;
  pieces: string[];
  promptTokens: number;
  completionTokens: number;
  includeUsage: boolean;
  continuousUsage: boolean;
  toolName?: string; // chat only: named tool_choice answers with one tool-call delta
}

/** A stream's events; `preamble` counts the role chunks that come before any content. */
export interface StreamPlan {
  events: string[];
  preamble: number;
}

type ChoiceFn = (index: number, piece: string | null) => object;

/**
 * Shared vLLM stream layout: [role chunks], content chunks (one per piece, per choice), finish chunks,
 * optional usage chunk (`choices: []`), [DONE]. Non-usage chunks carry `usage` only for continuous stats.
 */
function streamPlan(s: GenSpec, object: string, idPrefix: string, role: ChoiceFn | null, choice: ChoiceFn) {
  const head = { id: `${idPrefix}-${randomId()}`, object, created: nowSec(), model: s.model };
  const sent = new Array<number>(s.choices).fill(0);
  const chunk = (index: number, body: object): string =>
    sseEvent({
      ...head,
      choices: [body],
      ...(s.continuousUsage ? { usage: usage(s.promptTokens, sent[index] ?? 0) } : {}),
    });
  const indexes = [...Array(s.choices).keys()];
  const events = role ? indexes.map((i) => chunk(i, role(i, null))) : [];
  const pieces = s.toolName ? [''] : s.pieces;
  for (const piece of pieces)
    for (const i of indexes) {
      sent[i] = s.toolName ? s.pieces.length : (sent[i] ?? 0) + 1;
      events.push(chunk(i, choice(i, piece)));
    }
  for (const i of indexes) events.push(chunk(i, choice(i, null)));
  if (s.includeUsage)
    events.push(sseEvent({ ...head, choices: [], usage: usage(s.promptTokens, s.completionTokens) }));
  events.push(SSE_DONE);
  return { events, preamble: role ? s.choices : 0 };
}

export function chatStream(s: GenSpec): StreamPlan {
  const finish = s.toolName ? 'tool_calls' : 'stop';
  const toolDelta = () => {
    const { id, type, function: fn } = toolCall(s.toolName ?? '');
    return { tool_calls: [{ id, type, index: 0, function: fn }] }; // vLLM's DeltaToolCall field order
  };
  return streamPlan(
    s,
    'chat.completion.chunk',
    'chatcmpl',
    (index) => ({ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }),
    (index, piece) =>
      piece === null
        ? { index, delta: {}, logprobs: null, finish_reason: finish, stop_reason: null }
        : {
            index,
            delta: s.toolName ? toolDelta() : { content: piece },
            logprobs: null,
            finish_reason: null,
          },
  );
}

export function completionStream(s: GenSpec): StreamPlan {
  return streamPlan(s, 'text_completion', 'cmpl', null, (index, piece) => ({
    index,
    text: piece ?? '',
    logprobs: null,
    finish_reason: piece === null ? 'stop' : null,
    stop_reason: null,
  }));
}

const toolCall = (name: string) => ({
  id: `chatcmpl-tool-${randomId()}`,
  type: 'function',
  function: { name, arguments: '{}' },
});
const fullUsage = (s: GenSpec) => ({
  ...usage(s.promptTokens, s.completionTokens),
  prompt_tokens_details: null,
});

export function chatResponse(s: GenSpec): object {
  const choices = [...Array(s.choices).keys()].map((index) => ({
    index,
    message: s.toolName
      ? { role: 'assistant', content: null, tool_calls: [toolCall(s.toolName)] }
      : { role: 'assistant', content: s.text, tool_calls: [] },
    logprobs: null,
    finish_reason: s.toolName ? 'tool_calls' : 'stop',
    stop_reason: null,
  }));
  const head = { id: `chatcmpl-${randomId()}`, object: 'chat.completion', created: nowSec(), model: s.model };
  return { ...head, choices, usage: fullUsage(s), prompt_logprobs: null };
}

export function completionResponse(s: GenSpec): object {
  const choices = [...Array(s.choices).keys()].map((index) => ({
    index,
    text: s.text,
    logprobs: null,
    finish_reason: 'stop',
    stop_reason: null,
  }));
  const head = { id: `cmpl-${randomId()}`, object: 'text_completion', created: nowSec(), model: s.model };
  return { ...head, choices, usage: fullUsage(s) };
}

export const modelList = (model: string) => ({
  object: 'list',
  data: [
    {
      id: model,
      object: 'model',
      created: nowSec(),
      owned_by: 'vllm',
      root: model,
      parent: null,
      max_model_len: 32768,
      permission: [],
    },
  ],
});
