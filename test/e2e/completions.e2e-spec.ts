// Legacy text completions through Hunze with the openai SDK, stream and non-stream.
import OpenAI from 'openai';
import { FakeVllm } from '../fakes/fake-vllm';
import { startTestApp, type TestApp } from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';

describe('POST /v1/completions', () => {
  let upstream: FakeVllm;
  let hunze: TestApp;
  let client: OpenAI;

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: MODEL });
    hunze = await startTestApp({
      upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
      models: [
        { id: MODEL, aliases: ['qwen'], upstreams: ['vllm-a'] },
        { id: 'BAAI/bge-m3', kind: 'embedding', upstreams: ['vllm-a'] },
      ],
    });
    const { key } = await hunze.createKey();
    client = new OpenAI({ apiKey: key, baseURL: hunze.baseURL, maxRetries: 0 });
  });

  afterEach(() => upstream.reset());
  afterAll(async () => {
    await hunze.close();
    await upstream.close();
  });

  it('completes a prompt through an alias and passes parameters through', async () => {
    const completion = await client.completions.create({
      model: 'qwen',
      prompt: 'Once upon a time',
      max_tokens: 16,
      echo: false,
      logprobs: 2,
      suffix: 'The end.',
      best_of: 1,
      seed: 3,
    });
    expect(completion.object).toBe('text_completion');
    expect(completion.choices[0]?.text).toBe('Hello from the fake vLLM server.');
    expect(completion.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 6 });
    expect(upstream.requests.at(-1)!.body).toEqual({
      model: MODEL,
      prompt: 'Once upon a time',
      max_tokens: 16,
      echo: false,
      logprobs: 2,
      suffix: 'The end.',
      best_of: 1,
      seed: 3,
    });
  });

  it('accepts a list of prompts and token-id prompts', async () => {
    const several = await client.completions.create({ model: MODEL, prompt: ['a b', 'c d e'] });
    expect(several.choices).toHaveLength(2);
    const tokens = await client.completions.create({ model: MODEL, prompt: [1, 2, 3] });
    expect(tokens.choices).toHaveLength(1);
  });

  it('streams, hiding the usage chunk unless asked for', async () => {
    for (const includeUsage of [false, true]) {
      const stream = await client.completions.create({
        model: MODEL,
        prompt: 'stream please',
        stream: true,
        ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
      });
      let text = '';
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.text ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      expect(text).toBe('Hello from the fake vLLM server.');
      expect(usage === undefined).toBe(!includeUsage);
      expect(upstream.requests.at(-1)!.body.stream_options).toEqual({ include_usage: true });
    }
  });

  it.each([
    [{ prompt: 'x' }, 'model'],
    [{ model: MODEL }, 'prompt'],
    [{ model: MODEL, prompt: [] }, 'prompt'],
    [{ model: MODEL, prompt: [1.5] }, 'prompt'],
    [{ model: MODEL, prompt: 'x', logprobs: 9 }, 'logprobs'],
    [{ model: MODEL, prompt: 'x', stream: 'yes' }, 'stream'],
  ])('rejects %j naming %s', async (body, param) => {
    const response = await fetch(`${hunze.baseURL}/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(400);
    const json = (await response.json()) as { error: { param: string; code: string } };
    expect(json.error).toMatchObject({ param, code: 'invalid_request_error' });
  });

  it('refuses a model of the wrong kind', async () => {
    const error = (await client.completions
      .create({ model: 'BAAI/bge-m3', prompt: 'x' })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(400);
    expect(error.code).toBe('wrong_model_kind');
  });
});
