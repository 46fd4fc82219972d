// A model's retries through a real Hunze: an upstream that answers 503 (or 429) a few times and then recovers
// is invisible to the client while the retries last; a 4xx is the request's fault and is sent once. The
// openai SDK's own retries are off, so every retry seen here is Hunze's.
import OpenAI from 'openai';
import { FakeVllm } from '../fakes/fake-vllm';
import { startTestApp, waitFor, type TestApp } from '../helpers/test-app';

const TWICE = 'retried-twice';
const ONCE = 'retried-once';

describe('retries of a model', () => {
  let twice: FakeVllm;
  let once: FakeVllm;
  let hunze: TestApp;
  let client: OpenAI;

  beforeAll(async () => {
    twice = await FakeVllm.start({ modelName: TWICE });
    once = await FakeVllm.start({ modelName: ONCE });
    // The breaker stays closed throughout: every failure here must reach the retry policy as an answer.
    const circuitBreaker = { failures: 100, openSeconds: 10 };
    hunze = await startTestApp({
      upstreams: [
        { id: 'gpu-twice', baseUrl: twice.baseUrl, circuitBreaker },
        { id: 'gpu-once', baseUrl: once.baseUrl, circuitBreaker },
      ],
      models: [
        { id: TWICE, upstreams: ['gpu-twice'], retries: { attempts: 2, backoffMs: 10 } },
        { id: ONCE, upstreams: ['gpu-once'], retries: { attempts: 1, backoffMs: 10 } },
      ],
    });
    const { key } = await hunze.createKey({ name: 'retries-test' });
    client = new OpenAI({ apiKey: key, baseURL: hunze.baseURL, maxRetries: 0 });
  });

  afterEach(() => {
    twice.reset();
    once.reset();
  });
  afterAll(async () => {
    await hunze.close();
    await Promise.all([twice.close(), once.close()]);
  });

  const ask = (model: string) =>
    client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hello there' }] });
  const posts = (fake: FakeVllm) => fake.requests.filter((r) => r.method === 'POST').length;

  it('answers 200 when the only upstream gives 503 twice and then recovers (attempts 2)', async () => {
    twice.failNext.push(503, 503);
    const { data, request_id } = await ask(TWICE).withResponse();
    expect(data.choices[0]?.message.content).toBe('Hello from the fake vLLM server.');
    expect(posts(twice)).toBe(3);
    // The record counts each failed attempt as a failover.
    await waitFor(
      async () => hunze.logLines.some((l) => l.includes(request_id!) && l.includes('"failovers":2')),
      30_000,
    );
  });

  it('gives the client the 503 when the retries run out (attempts 1)', async () => {
    once.failNext.push(503, 503);
    const error = (await ask(ONCE).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.status).toBe(503);
    expect((error.error as { code?: string }).code).toBe('upstream_overloaded');
    expect(posts(once)).toBe(2);
  });

  it('retries a stream that got a 429 before its first chunk', async () => {
    twice.failNext.push(429);
    const stream = await client.chat.completions.create({
      model: TWICE,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Hello from the fake vLLM server.');
    expect(posts(twice)).toBe(2);
  });

  it('does not retry a 400 from the upstream', async () => {
    twice.mode = 'error-new';
    twice.errorStatus = 400;
    const error = (await ask(TWICE).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(400);
    expect(posts(twice)).toBe(1);
  });
});
