import { Readable } from 'node:stream';
import { GeminiStreamTransform, type GeminiStreamFormat } from './gemini-stream.transform';

const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'c', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const usage = `data: ${JSON.stringify({ id: 'c', choices: [], usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 } })}\n\n`;
const DONE = 'data: [DONE]\n\n';

async function run(format: GeminiStreamFormat, input: string[]): Promise<string> {
  // Split the input at odd places: chunk boundaries of a pipe are not event boundaries.
  const text = input.join('');
  const pieces = text.match(/[\s\S]{1,7}/g) ?? [];
  let out = '';
  for await (const piece of Readable.from(pieces.map((p) => Buffer.from(p))).pipe(
    new GeminiStreamTransform('m', format),
  ))
    out += String(piece);
  return out;
}

describe('GeminiStreamTransform', () => {
  const input = [
    chunk({ role: 'assistant', content: '' }),
    chunk({ content: 'Hel' }),
    chunk({ content: 'lo' }),
    chunk({}, 'stop'),
    usage,
    DONE,
  ];

  it('frames SSE like Google and folds usage into the finishing chunk', async () => {
    const events = (await run('sse', input)).split('\r\n\r\n').filter(Boolean);
    const parsed = events.map((e) => JSON.parse(e.replace(/^data: /, '')) as Record<string, any>);
    expect(parsed.map((p) => p.candidates[0].content.parts[0].text)).toEqual(['Hel', 'lo', '']);
    expect(parsed[2]).toMatchObject({
      candidates: [{ finishReason: 'STOP' }],
      usageMetadata: { promptTokenCount: 2, candidatesTokenCount: 3, totalTokenCount: 5 },
    });
  });

  it('streams a JSON array, also when empty', async () => {
    const array = JSON.parse(await run('json-array', input)) as unknown[];
    expect(array).toHaveLength(3);
    expect(JSON.parse(await run('json-array', [DONE]))).toEqual([]);
  });

  it('turns a catalogue error event into a Google error and ends', async () => {
    const error = `data: ${JSON.stringify({ error: { message: 'The model backend did not answer in time.', type: 'server_error', param: null, code: 'upstream_timeout' } })}\n\n`;
    const array = JSON.parse(
      await run('json-array', [chunk({ content: 'Hel' }), error, DONE, chunk({ content: 'late' })]),
    ) as any[];
    expect(array).toEqual([
      expect.objectContaining({ candidates: [expect.objectContaining({ index: 0 })] }),
      {
        error: {
          code: 504,
          message: 'The model backend did not answer in time.',
          status: 'DEADLINE_EXCEEDED',
        },
      },
    ]);
  });

  it('closes a JSON array even when the relay ends without [DONE]', async () => {
    expect(JSON.parse(await run('json-array', [chunk({ content: 'a' })]))).toHaveLength(1);
  });
});
