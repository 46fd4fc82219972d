import { FakeVllm } from './fake-vllm';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const TEXT = 'Hello from the fake vLLM server.';

/** Reads an SSE body to its end (or to a socket error) and returns the `data:` payloads. */
async function readSse(res: Response): Promise<{ data: string[]; raw: string; error?: unknown }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let raw = '';
  let error: unknown;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      raw += decoder.decode(value, { stream: true });
    }
  } catch (err) {
    error = err;
  }
  const data = raw
    .split('\n\n')
    .filter(Boolean)
    .map((event) => {
      expect(event.startsWith('data: ')).toBe(true);
      return event.slice('data: '.length);
    });
  return { data, raw, error };
}

/** `Response.json()` is typed `unknown`; the assertions below index into the body freely. */

const json = (res: Response): Promise<any> => res.json();

const parsed = (data: string[]) => data.filter((d) => d !== '[DONE]').map((d) => JSON.parse(d));

async function until(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('FakeVllm', () => {
  let fake: FakeVllm;
  const post = (path: string, body: unknown, init: RequestInit = {}) =>
    fetch(`${fake.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...init,
    });
  const chat = (extra: object = {}, content: unknown = 'Say hello to me', init?: RequestInit) =>
    post('/chat/completions', { model: MODEL, messages: [{ role: 'user', content }], ...extra }, init);

  beforeAll(async () => {
    fake = await FakeVllm.start();
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.close());

  it('serves models, health and metrics', async () => {
    expect(fake.baseUrl).toBe(`http://127.0.0.1:${fake.port}/v1`);
    const models = await json(await fetch(`${fake.baseUrl}/models`));
    expect(models).toMatchObject({
      object: 'list',
      data: [{ id: MODEL, owned_by: 'vllm', max_model_len: 32768 }],
    });
    const root = `http://127.0.0.1:${fake.port}`;
    const health = await fetch(`${root}/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('');
    fake.healthy = false;
    expect((await fetch(`${root}/health`)).status).toBe(503);
    fake.mode = 'reset'; // modes never touch GET endpoints
    expect((await fetch(`${fake.baseUrl}/models`)).status).toBe(200);
    expect(await (await fetch(`${root}/metrics`)).text()).toMatch(/^vllm:num_requests_running\{.*\} 0\.0$/m);
    const unknown = await fetch(`${root}/nope`);
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toEqual({ detail: 'Not Found' });
  });

  it('answers a non-stream chat completion with vLLM shape and word-count usage', async () => {
    const res = await chat({ n: 2 }, [
      { type: 'text', text: 'two words' },
      { type: 'image_url', image_url: { url: 'data:x' } },
    ]);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toEqual({
      id: expect.stringMatching(/^chatcmpl-[0-9a-f]{32}$/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: MODEL,
      choices: [0, 1].map((index) => ({
        index,
        message: { role: 'assistant', content: TEXT, tool_calls: [] },
        logprobs: null,
        finish_reason: 'stop',
        stop_reason: null,
      })),
      usage: { prompt_tokens: 2, total_tokens: 14, completion_tokens: 12, prompt_tokens_details: null },
      prompt_logprobs: null,
    });
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions', body: { n: 2 } });
  });

  it('answers a named tool_choice with a tool call', async () => {
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: {} } }];
    const body = await json(
      await chat({ tools, tool_choice: { type: 'function', function: { name: 'lookup' } } }),
    );
    expect(body.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: {
        content: null,
        tool_calls: [{ type: 'function', function: { name: 'lookup', arguments: '{}' } }],
      },
    });
    expect(body.choices[0].message.tool_calls[0].id).toMatch(/^chatcmpl-tool-/);
  });

  it('streams chat chunks without usage when stream_options is absent', async () => {
    const res = await chat({ stream: true });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const { data, error } = await readSse(res);
    expect(error).toBeUndefined();
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = parsed(data);
    expect(chunks).toHaveLength(1 + 6 + 1);
    expect(chunks[0]).toEqual({
      id: expect.stringMatching(/^chatcmpl-/),
      object: 'chat.completion.chunk',
      created: expect.any(Number),
      model: MODEL,
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
    });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(
      chunks
        .slice(1, -1)
        .map((c) => c.choices[0].delta.content)
        .join(''),
    ).toBe(TEXT);
    expect(chunks.at(-1).choices).toEqual([
      { index: 0, delta: {}, logprobs: null, finish_reason: 'stop', stop_reason: null },
    ]);
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
  });

  it('adds the usage chunk when include_usage is on (default once stream_options is present)', async () => {
    for (const stream_options of [{ include_usage: true }, {}]) {
      const chunks = parsed((await readSse(await chat({ stream: true, stream_options }))).data);
      expect(chunks.at(-1)).toMatchObject({
        choices: [],
        usage: { prompt_tokens: 4, total_tokens: 10, completion_tokens: 6 },
      });
      expect(chunks.slice(0, -1).every((c) => !('usage' in c))).toBe(true);
    }
    const off = parsed(
      (await readSse(await chat({ stream: true, stream_options: { include_usage: false } }))).data,
    );
    expect(off.every((c) => c.choices.length === 1 && !('usage' in c))).toBe(true);
    const continuous = { include_usage: true, continuous_usage_stats: true };
    const cont = parsed((await readSse(await chat({ stream: true, stream_options: continuous }))).data);
    expect(cont.map((c) => c.usage.completion_tokens)).toEqual([0, 1, 2, 3, 4, 5, 6, 6, 6]);
  });

  it('serves /v1/completions, plain and streamed', async () => {
    const body = await json(await post('/completions', { model: MODEL, prompt: 'Once upon a time' }));
    expect(body).toMatchObject({
      object: 'text_completion',
      choices: [{ index: 0, text: TEXT, logprobs: null, finish_reason: 'stop', stop_reason: null }],
      usage: { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 },
    });
    expect(body.id).toMatch(/^cmpl-/);
    const res = await post('/completions', { model: MODEL, prompt: 'x', stream: true, stream_options: {} });
    const chunks = parsed((await readSse(res)).data);
    expect(chunks[0]).toMatchObject({ object: 'text_completion', choices: [{ index: 0, text: 'Hello ' }] });
    expect(
      chunks
        .slice(0, -1)
        .map((c) => c.choices[0].text)
        .join(''),
    ).toBe(TEXT);
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 6 } });
  });

  it('rejects a wrong model and malformed JSON with vLLM errors', async () => {
    const wrong = await chat({ model: 'gpt-4' });
    expect(wrong.status).toBe(404);
    expect(await json(wrong)).toEqual({
      error: { message: 'The model `gpt-4` does not exist.', type: 'NotFoundError', param: null, code: 404 },
    });
    const bad = await post('/chat/completions', '{not json');
    expect(bad.status).toBe(400);
    expect((await json(bad)).error).toMatchObject({ type: 'BadRequestError', param: null, code: 400 });
  });

  it.each([
    [
      'error-new',
      400,
      (b: any) => expect(b.error).toMatchObject({ type: 'BadRequestError', param: null, code: 400 }),
    ],
    [
      'error-old',
      400,
      (b: any) => expect(b).toMatchObject({ object: 'error', type: 'BadRequestError', code: 400 }),
    ],
    ['unauthorized', 401, (b: any) => expect(b).toEqual({ error: 'Unauthorized' })],
  ] as const)('mode %s answers %i with its body shape', async (mode, status, check) => {
    fake.mode = mode;
    const res = await chat();
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/json');
    check(await json(res));
  });

  it('uses errorStatus and echoes the prompt in error-echo and plain-text-500', async () => {
    fake.mode = 'error-echo';
    fake.errorStatus = 422;
    const echo = await chat({}, 'secret patient data');
    expect(echo.status).toBe(422);
    expect((await json(echo)).error).toMatchObject({
      message: expect.stringContaining('secret patient data'),
    });
    fake.mode = 'plain-text-500';
    const plain = await chat({}, 'secret patient data');
    expect(plain.status).toBe(500);
    expect(plain.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await plain.text()).toBe('Internal Server Error: secret patient data');
  });

  it('answers the queued failure statuses first, one per request, then as its mode says', async () => {
    fake.failNext.push(503, 429);
    expect((await chat()).status).toBe(503);
    expect((await chat()).status).toBe(429);
    expect((await chat()).status).toBe(200);
    expect(fake.failNext).toEqual([]);
  });

  it('resets the connection, before or in the middle of a stream', async () => {
    fake.mode = 'reset';
    await expect(chat()).rejects.toThrow();
    fake.mode = 'reset-mid-stream';
    await expect(chat()).rejects.toThrow();
    const { data, error } = await readSse(await chat({ stream: true }));
    expect(error).toBeDefined();
    expect(parsed(data).map((c) => c.choices[0].delta.content)).toEqual(['', 'Hello ', 'from ']);
    expect(fake.aborted).toEqual([]);
  });

  it('sends an error event then [DONE] in error-mid-stream', async () => {
    fake.mode = 'error-mid-stream';
    const { data } = await readSse(await chat({ stream: true }));
    expect(data).toHaveLength(5);
    expect(data.at(-1)).toBe('[DONE]');
    expect(JSON.parse(data[3]!).error).toMatchObject({ type: 'BadRequestError', param: null, code: 400 });
  });

  it('ends the stream without [DONE] in no-done', async () => {
    fake.mode = 'no-done';
    const { data, error } = await readSse(await chat({ stream: true }));
    expect(error).toBeUndefined();
    expect(data).not.toContain('[DONE]');
    expect(parsed(data).at(-1).choices[0].finish_reason).toBe('stop');
  });

  it('honours chunkDelayMs between stream writes', async () => {
    fake.chunkDelayMs = 20;
    const started = Date.now();
    await readSse(await chat({ stream: true })); // 9 events -> 8 gaps
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('records a client abort of a hanging request and tracks inFlight', async () => {
    fake.mode = 'hang';
    const controller = new AbortController();
    const pending = chat({ stream: true }, 'wait', { signal: controller.signal }).catch(
      (err: unknown) => err,
    );
    await until(() => fake.requests.length === 1 && fake.inFlight === 1);
    expect(fake.aborted).toEqual([]);
    controller.abort();
    expect(await pending).toMatchObject({ name: 'AbortError' });
    await until(() => fake.aborted.length === 1);
    expect(fake.aborted[0]).toEqual({ path: '/v1/chat/completions', at: expect.any(Number) });
    expect(fake.inFlight).toBe(0);
  });

  it('records an abort during firstByteDelayMs', async () => {
    fake.firstByteDelayMs = 10_000;
    const controller = new AbortController();
    const pending = post('/completions', { model: MODEL, prompt: 'x' }, { signal: controller.signal }).catch(
      (err: unknown) => err,
    );
    await until(() => fake.requests.length === 1);
    controller.abort();
    expect(await pending).toMatchObject({ name: 'AbortError' });
    await until(() => fake.aborted.length === 1);
    expect(fake.aborted[0]?.path).toBe('/v1/completions');
    expect(fake.inFlight).toBe(0);
  });

  it('reset() restores the defaults and clears the records', async () => {
    Object.assign(fake, {
      mode: 'hang',
      errorStatus: 503,
      chunkDelayMs: 9,
      firstByteDelayMs: 9,
      healthy: false,
    });
    fake.completionText = 'changed';
    await fetch(`${fake.baseUrl}/models`);
    fake.aborted.push({ path: '/x', at: 1 });
    fake.reset();
    expect(fake).toMatchObject({
      mode: 'ok',
      errorStatus: 400,
      chunkDelayMs: 0,
      firstByteDelayMs: 0,
      healthy: true,
    });
    expect(fake.completionText).toBe(TEXT);
    expect(fake.requests).toEqual([]);
    expect(fake.aborted).toEqual([]);
  });

  it('close() ends hanging requests without counting them as aborts', async () => {
    const other = await FakeVllm.start();
    other.mode = 'hang';
    other.chunkDelayMs = 60_000;
    const hanging = fetch(`${other.baseUrl}/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: MODEL, prompt: 'x' }),
    }).catch((err: unknown) => err);
    await until(() => other.inFlight === 1);
    await other.close();
    expect(await hanging).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
    expect(other.aborted).toEqual([]);
  });

  it('requires the bearer key when apiKey is set, on /v1 only', async () => {
    const locked = await FakeVllm.start({ apiKey: 'sk-test', modelName: 'm' });
    try {
      const req = (key?: string) =>
        fetch(`${locked.baseUrl}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
          body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
        });
      for (const key of [undefined, 'wrong']) {
        const res = await req(key);
        expect(res.status).toBe(401);
        expect(await json(res)).toEqual({ error: 'Unauthorized' });
      }
      expect((await req('sk-test')).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${locked.port}/health`)).status).toBe(200);
    } finally {
      await locked.close();
    }
  });
});
