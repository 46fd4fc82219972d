import { ApiError } from '../../core/errors';
import { finishReasonOf, fromChatChunk, fromChatCompletion } from './gemini-response.translator';

describe('fromChatCompletion', () => {
  it('maps choices, finish reasons, usage, model and id', () => {
    const answer = fromChatCompletion(
      {
        id: 'chatcmpl-1',
        model: 'm',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: 'hi', reasoning_content: 'hmm' },
            finish_reason: 'stop',
          },
          { index: 1, message: { role: 'assistant', content: null }, finish_reason: 'length' },
        ],
        usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
      },
      'm',
    );
    expect(answer).toEqual({
      candidates: [
        {
          content: { role: 'model', parts: [{ text: 'hmm', thought: true }, { text: 'hi' }] },
          finishReason: 'STOP',
          index: 0,
        },
        { content: { role: 'model', parts: [{ text: '' }] }, finishReason: 'MAX_TOKENS', index: 1 },
      ],
      usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4, totalTokenCount: 7 },
      modelVersion: 'm',
      responseId: 'chatcmpl-1',
    });
  });

  it('treats an answer without choices as an upstream failure', () => {
    expect(() => fromChatCompletion({ object: 'chat.completion' }, 'm')).toThrow(ApiError);
  });

  it.each([
    ['stop', 'STOP'],
    ['length', 'MAX_TOKENS'],
    ['content_filter', 'SAFETY'],
    ['tool_calls', 'OTHER'],
    ['abort', 'OTHER'],
    [null, undefined],
  ])('finish_reason %s → %s', (reason, expected) => expect(finishReasonOf(reason)).toBe(expected));
});

describe('fromChatChunk', () => {
  it('drops chunks with nothing to say and maps content deltas', () => {
    expect(
      fromChatChunk({ choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] }, 'm'),
    ).toBeNull();
    expect(fromChatChunk({ choices: [], usage: { prompt_tokens: 1 } }, 'm')).toBeNull();
    expect(
      fromChatChunk(
        { id: 'c', choices: [{ index: 0, delta: { content: 'Hel' }, finish_reason: null }] },
        'm',
      ),
    ).toEqual({
      candidates: [{ content: { role: 'model', parts: [{ text: 'Hel' }] }, index: 0 }],
      modelVersion: 'm',
      responseId: 'c',
    });
  });
});
