"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.modelList = exports.vllmErrorOld = exports.vllmError = exports.countWords = exports.SSE_DONE = exports.sseEvent = exports.usage = exports.nowSec = exports.randomId = void 0;
exports.wordPieces = wordPieces;
exports.errorType = errorType;
exports.chatStream = chatStream;
exports.completionStream = completionStream;
exports.chatResponse = chatResponse;
exports.completionResponse = completionResponse;
// Wire-format builders for the fake vLLM server. Objects are written literally in vLLM's (pydantic)
// field order, so raw bodies look byte-for-byte like the real server's.
const node_crypto_1 = require("node:crypto");
const randomId = () => (0, node_crypto_1.randomUUID)().replace(/-/g, '');
exports.randomId = randomId;
const nowSec = () => Math.floor(Date.now() / 1000);
exports.nowSec = nowSec;
const usage = (prompt, completion) => ({
    prompt_tokens: prompt,
    total_tokens: prompt + completion,
    completion_tokens: completion,
});
exports.usage = usage;
/** One SSE event, framed as vLLM frames it (no `event:` lines, blank line terminator). */
const sseEvent = (payload) => `data: ${JSON.stringify(payload)}\n\n`;
exports.sseEvent = sseEvent;
exports.SSE_DONE = 'data: [DONE]\n\n';
/** Word pieces that keep their whitespace, so joining them gives the text back unchanged. */
function wordPieces(text) {
    return text.match(/\s*\S+\s*/g) ?? (text ? [text] : []);
}
const countWords = (text) => text.split(/\s+/).filter(Boolean).length;
exports.countWords = countWords;
/** vLLM picks the error type from the status (create_error_response's err_type). */
function errorType(status) {
    if (status === 404)
        return 'NotFoundError';
    if (status >= 500)
        return 'InternalServerError';
    return 'BadRequestError';
}
/** vLLM >= 0.10.1 error body (`code` is the integer status). */
const vllmError = (message, status) => ({
    error: { message, type: errorType(status), param: null, code: status },
});
exports.vllmError = vllmError;
/** vLLM < 0.10.1 flat error body. */
const vllmErrorOld = (message, status) => ({
    object: 'error',
    message,
    type: errorType(status),
    param: null,
    code: status,
});
exports.vllmErrorOld = vllmErrorOld;
/**
 * Shared vLLM stream layout: [role chunks], content chunks (one per piece, per choice), finish chunks,
 * optional usage chunk (`choices: []`), [DONE]. Non-usage chunks carry `usage` only for continuous stats.
 */
function streamPlan(s, object, idPrefix, role, choice) {
    const head = { id: `${idPrefix}-${(0, exports.randomId)()}`, object, created: (0, exports.nowSec)(), model: s.model };
    const sent = new Array(s.choices).fill(0);
    const chunk = (index, body) => (0, exports.sseEvent)({
        ...head,
        choices: [body],
        ...(s.continuousUsage ? { usage: (0, exports.usage)(s.promptTokens, sent[index] ?? 0) } : {}),
    });
    const indexes = [...Array(s.choices).keys()];
    const events = role ? indexes.map((i) => chunk(i, role(i, null))) : [];
    const pieces = s.toolName ? [''] : s.pieces;
    for (const piece of pieces)
        for (const i of indexes) {
            sent[i] = s.toolName ? s.pieces.length : (sent[i] ?? 0) + 1;
            events.push(chunk(i, choice(i, piece)));
        }
    for (const i of indexes)
        events.push(chunk(i, choice(i, null)));
    if (s.includeUsage)
        events.push((0, exports.sseEvent)({ ...head, choices: [], usage: (0, exports.usage)(s.promptTokens, s.completionTokens) }));
    events.push(exports.SSE_DONE);
    return { events, preamble: role ? s.choices : 0 };
}
function chatStream(s) {
    const finish = s.toolName ? 'tool_calls' : 'stop';
    const toolDelta = () => {
        const { id, type, function: fn } = toolCall(s.toolName ?? '');
        return { tool_calls: [{ id, type, index: 0, function: fn }] }; // vLLM's DeltaToolCall field order
    };
    return streamPlan(s, 'chat.completion.chunk', 'chatcmpl', (index) => ({ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }), (index, piece) => piece === null
        ? { index, delta: {}, logprobs: null, finish_reason: finish, stop_reason: null }
        : {
            index,
            delta: s.toolName ? toolDelta() : { content: piece },
            logprobs: null,
            finish_reason: null,
        });
}
function completionStream(s) {
    return streamPlan(s, 'text_completion', 'cmpl', null, (index, piece) => ({
        index,
        text: piece ?? '',
        logprobs: null,
        finish_reason: piece === null ? 'stop' : null,
        stop_reason: null,
    }));
}
const toolCall = (name) => ({
    id: `chatcmpl-tool-${(0, exports.randomId)()}`,
    type: 'function',
    function: { name, arguments: '{}' },
});
const fullUsage = (s) => ({
    ...(0, exports.usage)(s.promptTokens, s.completionTokens),
    prompt_tokens_details: null,
});
function chatResponse(s) {
    const choices = [...Array(s.choices).keys()].map((index) => ({
        index,
        message: s.toolName
            ? { role: 'assistant', content: null, tool_calls: [toolCall(s.toolName)] }
            : { role: 'assistant', content: s.text, tool_calls: [] },
        logprobs: null,
        finish_reason: s.toolName ? 'tool_calls' : 'stop',
        stop_reason: null,
    }));
    const head = { id: `chatcmpl-${(0, exports.randomId)()}`, object: 'chat.completion', created: (0, exports.nowSec)(), model: s.model };
    return { ...head, choices, usage: fullUsage(s), prompt_logprobs: null };
}
function completionResponse(s) {
    const choices = [...Array(s.choices).keys()].map((index) => ({
        index,
        text: s.text,
        logprobs: null,
        finish_reason: 'stop',
        stop_reason: null,
    }));
    const head = { id: `cmpl-${(0, exports.randomId)()}`, object: 'text_completion', created: (0, exports.nowSec)(), model: s.model };
    return { ...head, choices, usage: fullUsage(s) };
}
const modelList = (model) => ({
    object: 'list',
    data: [
        {
            id: model,
            object: 'model',
            created: (0, exports.nowSec)(),
            owned_by: 'vllm',
            root: model,
            parent: null,
            max_model_len: 32768,
            permission: [],
        },
    ],
});
exports.modelList = modelList;
