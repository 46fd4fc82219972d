// The optional in-memory response cache (models[].cache.ttlSeconds): deterministic, non-stream chat requests
// are answered from memory for the TTL, per tenant, metered like any answer and counted in /metrics.
import OpenAI from 'openai';
import { FakeVllm } from '../fakes/fake-vllm';
import { until } from '../helpers/raw-http';
import { startTestApp, type TestApp } from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const PLAIN = 'plain-model';
/** Cached for an hour: however slow the machine, a repeat within a test is always within the TTL. */
const TTL_SECONDS = 3600;
/** A model whose answers expire while the test waits, with room for the repeat that must still hit. */
const SHORT = 'short-ttl-model';
const SHORT_TTL_SECONDS = 3;

type Obj = Record<string, any>;

describe('response cache', () => {
  let cached: FakeVllm;
  let plain: FakeVllm;
  let short: FakeVllm;
  let hunze: TestApp;
  let client: OpenAI;
  /** Metadata records logged before the current test: its own come after. */
  let recordsBefore = 0;

  beforeAll(async () => {
    cached = await FakeVllm.start({ modelName: MODEL });
    plain = await FakeVllm.start({ modelName: PLAIN });
    short = await FakeVllm.start({ modelName: SHORT });
    hunze = await startTestApp({
      upstreams: [
        { id: 'gpu-cached', baseUrl: cached.baseUrl },
        { id: 'gpu-plain', baseUrl: plain.baseUrl },
        { id: 'gpu-short', baseUrl: short.baseUrl },
      ],
      models: [
        { id: MODEL, aliases: ['qwen'], upstreams: ['gpu-cached'], cacheTtlSeconds: TTL_SECONDS },
        { id: PLAIN, upstreams: ['gpu-plain'] },
        { id: SHORT, upstreams: ['gpu-short'], cacheTtlSeconds: SHORT_TTL_SECONDS },
      ],
    });
    client = await clientFor('team-a');
  });

  beforeEach(() => {
    cached.reset();
    plain.reset();
    short.reset();
    recordsBefore = requestRecords().length;
  });

  afterAll(async () => {
    await hunze.close();
    await cached.close();
    await plain.close();
    await short.close();
  });

  async function clientFor(account: string): Promise<OpenAI> {
    const { key } = await hunze.createKey({ name: `cache-${account}`, account });
    return new OpenAI({ apiKey: key, baseURL: hunze.baseURL, maxRetries: 0 });
  }

  const unique = () => `canary-cache-${Date.now()}-${Math.random().toString(36).slice(2)}`;

  async function ask(c: OpenAI, params: Obj) {
    const { data, response } = await c.chat.completions
      .create({ model: 'qwen', ...params } as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .withResponse();
    return { data, cache: response.headers.get('x-hunze-cache') };
  }

  function requestRecords(): Obj[] {
    return hunze.logLines.filter((l) => l.includes('"evt":"request"')).map((l) => JSON.parse(l) as Obj);
  }

  /** The test's `n` records (each written as its last bytes go out: maybe after the client saw them). */
  async function records(n: number): Promise<Obj[]> {
    await until(() => requestRecords().length >= recordsBefore + n);
    return requestRecords().slice(recordsBefore);
  }

  it('answers a repeated temperature-0 request from memory, metered with its usage', async () => {
    const messages = [{ role: 'user', content: `${unique()} say hello` }];
    const first = await ask(client, { messages, temperature: 0 });
    const second = await ask(client, { messages, temperature: 0 });
    expect([first.cache, second.cache]).toEqual(['miss', 'hit']);
    expect(second.data).toEqual(first.data);
    expect(cached.requests).toHaveLength(1);
    const [missRecord, hitRecord] = await records(2);
    expect(missRecord).toMatchObject({
      cache: 'miss',
      model: MODEL,
      upstream: 'gpu-cached',
      promptTokens: 3,
    });
    expect(hitRecord).toMatchObject({
      cache: 'hit',
      model: MODEL,
      promptTokens: 3,
      completionTokens: 6,
      status: 200,
    });
    expect(hitRecord).not.toHaveProperty('upstream');
  });

  it('keys on the canonical request: alias or id, key order, do not matter; any parameter does', async () => {
    const content = `${unique()} order`;
    await ask(client, {
      model: 'qwen',
      temperature: 0,
      max_tokens: 20,
      messages: [{ role: 'user', content }],
    });
    const reordered = await ask(client, {
      messages: [{ content, role: 'user' }],
      max_tokens: 20,
      temperature: 0,
      model: MODEL,
    });
    expect(reordered.cache).toBe('hit');
    const other = await ask(client, {
      model: MODEL,
      temperature: 0,
      max_tokens: 21,
      messages: [{ role: 'user', content }],
    });
    expect(other.cache).toBe('miss');
    expect(cached.requests).toHaveLength(2);
  });

  it('caches a request with a seed; never a sampled one or a stream', async () => {
    const messages = [{ role: 'user', content: `${unique()} seeded` }];
    await ask(client, { messages, temperature: 0.8, seed: 42 });
    expect((await ask(client, { messages, temperature: 0.8, seed: 42 })).cache).toBe('hit');
    const sampled1 = await ask(client, { messages, temperature: 0.8 });
    const sampled2 = await ask(client, { messages, temperature: 0.8 });
    expect([sampled1.cache, sampled2.cache]).toEqual([null, null]);
    for (let i = 0; i < 2; i++) {
      const stream = await client.chat.completions.create({
        model: 'qwen',
        messages: messages as never,
        temperature: 0,
        stream: true,
      });
      for await (const chunk of stream) void chunk;
    }
    expect(cached.requests).toHaveLength(5); // 1 seeded + 2 sampled + 2 streamed
  });

  it('never serves one account an answer cached for another; keys of one account share', async () => {
    const messages = [{ role: 'user', content: `${unique()} tenant` }];
    await ask(client, { messages, temperature: 0 });
    const teamB = await clientFor('team-b');
    expect((await ask(teamB, { messages, temperature: 0 })).cache).toBe('miss');
    const teamA2 = await clientFor('team-a');
    expect((await ask(teamA2, { messages, temperature: 0 })).cache).toBe('hit');
    expect(cached.requests).toHaveLength(2);
  });

  it('is off for a model without cache.ttlSeconds', async () => {
    const messages = [{ role: 'user', content: `${unique()} plain` }];
    const a = await ask(client, { model: PLAIN, messages, temperature: 0 });
    const b = await ask(client, { model: PLAIN, messages, temperature: 0 });
    expect([a.cache, b.cache]).toEqual([null, null]);
    expect(plain.requests).toHaveLength(2);
  });

  it('forgets an answer after its TTL, and never caches an upstream failure', async () => {
    const params = { model: SHORT, messages: [{ role: 'user', content: `${unique()} ttl` }], temperature: 0 };
    short.mode = 'error-new';
    await expect(ask(client, params)).rejects.toMatchObject({ status: 400 });
    short.mode = 'ok';
    expect((await ask(client, params)).cache).toBe('miss');
    expect((await ask(client, params)).cache).toBe('hit');
    // Counted from the hit's answer, after the entry was stored: it has surely expired.
    await new Promise((r) => setTimeout(r, SHORT_TTL_SECONDS * 1000 + 100));
    expect((await ask(client, params)).cache).toBe('miss');
    expect(short.requests).toHaveLength(3);
  });

  it('serves an equivalent Gemini generateContent request from the same entry', async () => {
    const content = `${unique()} gemini`;
    await ask(client, { messages: [{ role: 'user', content }], temperature: 0 });
    const { key } = await hunze.createKey({ name: 'gemini-cache', account: 'team-a' });
    const res = await fetch(`${hunze.url}/v1beta/models/qwen:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': key },
      body: JSON.stringify({
        contents: [{ role: 'user', parts: [{ text: content }] }],
        generationConfig: { temperature: 0 },
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-hunze-cache')).toBe('hit');
    expect(((await res.json()) as Obj).candidates[0].content.parts[0].text).toBe(
      'Hello from the fake vLLM server.',
    );
    expect(cached.requests).toHaveLength(1);
  });

  it('counts hits and misses per model in /metrics, which never shows content', async () => {
    const before = await scrape();
    const content = unique();
    const messages = [{ role: 'user', content }];
    await ask(client, { messages, temperature: 0 });
    await ask(client, { messages, temperature: 0 });
    await ask(client, { messages, temperature: 0 });
    const after = await scrape();
    expect(
      counter(after, 'hunze_response_cache_hits_total') - counter(before, 'hunze_response_cache_hits_total'),
    ).toBe(2);
    expect(
      counter(after, 'hunze_response_cache_misses_total') -
        counter(before, 'hunze_response_cache_misses_total'),
    ).toBe(1);
    expect(after).not.toContain(content);
    expect(hunze.logLines.join('\n')).not.toContain(content);
  });

  async function scrape(): Promise<string> {
    const res = await fetch(`${hunze.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text();
  }

  function counter(text: string, name: string): number {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{model="${MODEL}"}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }
});
