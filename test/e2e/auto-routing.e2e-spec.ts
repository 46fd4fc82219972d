// model "auto" on /v1/chat/completions: the choice among the chat models a key may use follows the client's
// preference (quality rank, cost, live latency), the answer names the model used, `_routing` says why, and
// `routing.fallback` moves to the next-best model when the first fails before any byte was sent.
import OpenAI from 'openai';
import { UpstreamLatency } from '../../src/upstream/upstream-latency';
import { FakeVllm } from '../fakes/fake-vllm';
import { until } from '../helpers/raw-http';
import { startTestApp, type TestApp } from '../helpers/test-app';

type Obj = Record<string, any>;
type Routing = { prefer?: string; fallback?: boolean };

describe('model "auto" on chat completions', () => {
  const fakes: Record<'big' | 'small' | 'mini', FakeVllm> = {} as never;
  let hunze: TestApp;
  let client: OpenAI;
  /** Metadata records logged before the current test: its own come after. */
  let recordsBefore = 0;

  beforeAll(async () => {
    for (const name of ['big', 'small', 'mini'] as const)
      fakes[name] = await FakeVllm.start({ modelName: name });
    hunze = await startTestApp({
      upstreams: [
        { id: 'gpu-big', baseUrl: fakes.big.baseUrl, timeouts: { firstByteMs: 3000 } },
        { id: 'gpu-small', baseUrl: fakes.small.baseUrl, timeouts: { firstByteMs: 3000 } },
        { id: 'gpu-mini', baseUrl: fakes.mini.baseUrl, timeouts: { firstByteMs: 3000 } },
      ],
      models: [
        { id: 'big', upstreams: ['gpu-big'], quality: 5, costPerMTokens: 10 },
        { id: 'small', aliases: ['s'], upstreams: ['gpu-small'], quality: 2, costPerMTokens: 2 },
        { id: 'mini', upstreams: ['gpu-mini'], quality: 1, costPerMTokens: 0.5 },
        // The best and cheapest on paper, but not a chat model: never chosen.
        { id: 'embedder', kind: 'embedding', upstreams: ['gpu-mini'], quality: 10, costPerMTokens: 0 },
      ],
    });
    const { key } = await hunze.createKey({ name: 'auto-test' });
    client = new OpenAI({ apiKey: key, baseURL: hunze.baseURL, maxRetries: 0 });
  });

  beforeEach(() => {
    recordsBefore = records().length;
    for (const fake of Object.values(fakes)) fake.reset();
    fakes.big.firstByteDelayMs = 150;
    fakes.mini.firstByteDelayMs = 60;
  });

  afterAll(async () => {
    await hunze.close();
    await Promise.all(Object.values(fakes).map((f) => f.close()));
  });

  function ask(routing?: Routing, extra: Obj = {}, c = client) {
    const body = { model: 'auto', messages: [{ role: 'user' as const, content: 'hello there' }], ...extra };
    return c.chat.completions.create(
      (routing ? { ...body, routing } : body) as OpenAI.ChatCompletionCreateParamsNonStreaming,
    ) as Promise<OpenAI.ChatCompletion & { _routing?: Obj }>;
  }

  function records(): Obj[] {
    return hunze.logLines.filter((l) => l.includes('"evt":"request"')).map((l) => JSON.parse(l) as Obj);
  }

  /** The newest record of this test (written as the last bytes go out: maybe after the client saw them). */
  async function lastRecord(): Promise<Obj> {
    await until(() => records().length > recordsBefore);
    return records().at(-1)!;
  }

  it('picks the cheapest model by default, names it, and sends no routing field upstream', async () => {
    const answer = await ask();
    expect(answer.model).toBe('mini');
    expect(answer._routing).toBeUndefined();
    expect(fakes.mini.requests.at(-1)!.body).toEqual({
      model: 'mini',
      messages: [{ role: 'user', content: 'hello there' }],
    });
    expect(await lastRecord()).toMatchObject({
      model: 'mini',
      upstream: 'gpu-mini',
      promptTokens: 2,
      status: 200,
    });
  });

  it('follows prefer: cost, and explains the choice in _routing', async () => {
    const answer = await ask({ prefer: 'cost' });
    expect(answer.model).toBe('mini');
    expect(answer._routing).toEqual({
      original_model: 'auto',
      mapped_model: 'mini',
      reason: 'prefer cost: 0.5 per million tokens',
    });
    expect(fakes.mini.requests.at(-1)!.body).not.toHaveProperty('routing');
    expect(answer.choices[0]?.message.content).toBe('Hello from the fake vLLM server.');
  });

  it('follows prefer: speed with the live latency of each upstream', async () => {
    const latency = hunze.app.get(UpstreamLatency);
    const ms = (model: string) => latency.get(`gpu-${model}`)!;
    const fastestOther = () => (ms('mini') < ms('big') ? 'mini' : 'big');
    const send = (model: string) =>
      client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] });
    // Measure every model once (an unmeasured upstream counts as fast, so it gets tried).
    for (const model of ['big', 'small', 'mini']) await send(model);
    // small answers at once, mini after 60 ms, big after 150 ms. On a loaded machine one sample can be slow
    // for reasons of its own, so small is asked again until its moving average (which the router reads
    // too) shows it fastest; a router that ignored the averages would still go wrong below.
    for (let i = 0; i < 20 && ms('small') >= ms(fastestOther()); i++) await send('small');
    expect(ms('small')).toBeLessThan(ms(fastestOther()));
    const fast = await ask({ prefer: 'speed' });
    expect(fast.model).toBe('small');
    expect(fast._routing?.reason).toMatch(/^prefer speed: latency \d+ ms$/);
    // small slows down: its moving average rises above another model's within a few requests.
    fakes.small.firstByteDelayMs = 300;
    for (let i = 0; i < 20 && ms('small') <= ms(fastestOther()); i++) await send('s');
    expect(ms('small')).toBeGreaterThan(ms(fastestOther()));
    const after = await ask({ prefer: 'speed' });
    expect(after.model).toBe(fastestOther());
  });

  it('chooses only among the models the key may use, and refuses when it may use no chat model', async () => {
    const limited = await hunze.createKey({ name: 'limited', models: ['s', 'mini'] });
    const c = new OpenAI({ apiKey: limited.key, baseURL: hunze.baseURL, maxRetries: 0 });
    expect((await ask({ prefer: 'quality' }, {}, c)).model).toBe('small');
    const embedOnly = await hunze.createKey({ name: 'embed-only', models: ['embedder'] });
    const e = new OpenAI({ apiKey: embedOnly.key, baseURL: hunze.baseURL, maxRetries: 0 });
    const error = (await ask(undefined, {}, e).catch((x: unknown) => x)) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(error.status).toBe(403);
    expect(error.code).toBe('model_not_allowed');
  });

  it('with fallback, answers from the next-best model when the best one fails before the first byte', async () => {
    fakes.big.mode = 'plain-text-500';
    const answer = await ask({ prefer: 'quality', fallback: true });
    expect(answer.model).toBe('small');
    expect(answer._routing).toEqual({
      original_model: 'auto',
      mapped_model: 'small',
      reason: 'prefer quality: quality rank 2; fallback after big failed (upstream_error)',
    });
    expect(fakes.big.requests).toHaveLength(1);
    expect(await lastRecord()).toMatchObject({ model: 'small', status: 200 });
  });

  it('falls back by default: without routing, the next cheapest model answers when the cheapest fails', async () => {
    fakes.mini.mode = 'plain-text-500';
    const answer = await ask();
    expect(answer.model).toBe('small');
    expect(answer._routing).toBeUndefined();
    expect(fakes.mini.requests).toHaveLength(1);
    expect(await lastRecord()).toMatchObject({ model: 'small', status: 200 });
  });

  it('without fallback, or for a request the backend rejects, reports the failure as is', async () => {
    fakes.big.mode = 'plain-text-500';
    const unavailable = (await ask({ prefer: 'quality', fallback: false }).catch(
      (x: unknown) => x,
    )) as InstanceType<typeof OpenAI.APIError>;
    expect(unavailable.status).toBe(502);
    expect(unavailable.code).toBe('upstream_error');
    fakes.big.mode = 'error-echo';
    const canary = `canary-auto-${Date.now()}`;
    const rejected = (await ask(
      { prefer: 'quality' },
      { messages: [{ role: 'user', content: canary }] },
    ).catch((x: unknown) => x)) as InstanceType<typeof OpenAI.APIError>;
    expect(rejected.status).toBe(400);
    expect(rejected.code).toBe('upstream_rejected');
    expect(JSON.stringify(rejected.error)).not.toContain(canary);
    expect(fakes.small.requests).toHaveLength(0);
  });

  it('puts _routing on the first chunk of a stream, without holding the stream back', async () => {
    fakes.big.chunkDelayMs = 100; // the upstream takes ~1 s for the whole stream
    const stream = await client.chat.completions.create({
      model: 'auto',
      messages: [{ role: 'user', content: 'stream please' }],
      stream: true,
      routing: { prefer: 'quality' },
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    const chunks: Obj[] = [];
    let upstreamStillSending: boolean | undefined;
    for await (const chunk of stream) {
      upstreamStillSending ??= fakes.big.inFlight === 1;
      chunks.push(chunk);
    }
    expect(chunks[0]!._routing).toEqual({
      original_model: 'auto',
      mapped_model: 'big',
      reason: 'prefer quality: quality rank 5',
    });
    expect(chunks.slice(1).some((c) => '_routing' in c)).toBe(false);
    expect(chunks.every((c) => c.model === 'big')).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe(
      'Hello from the fake vLLM server.',
    );
    // Not held back: the first chunk was here before the upstream had finished.
    expect(upstreamStillSending).toBe(true);
    expect(await lastRecord()).toMatchObject({ model: 'big', stream: true, completionTokens: 6 });
  });

  it.each([
    [{ prefer: 'canary-prefer-value' }, 'routing.prefer'],
    [{ prefer: 'speed', fallback: 'canary-fallback-value' }, 'routing.fallback'],
    ['canary-routing-string', 'routing'],
  ])('400 naming the field for a bad routing object, never its content (%#)', async (routing, param) => {
    const error = (await ask(routing as Routing).catch((x: unknown) => x)) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid_request_error');
    expect(error.param).toBe(param);
    expect(JSON.stringify(error.error)).not.toContain('canary');
    await lastRecord();
    expect(hunze.logLines.join('\n')).not.toContain('canary-');
  });
});
