// Chat completions through a real Hunze, with the official openai SDK as the client and a fake vLLM upstream.
import OpenAI from 'openai';
import { FakeVllm } from '../fakes/fake-vllm';
import { startHangingServer, until } from '../helpers/raw-http';
import { startTestApp, type TestApp } from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';

describe('POST /v1/chat/completions', () => {
  let upstream: FakeVllm;
  let hunze: TestApp;
  let client: OpenAI;

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: MODEL, apiKey: 'upstream-secret' });
    hunze = await startTestApp({
      upstreams: [
        {
          id: 'vllm-a',
          baseUrl: upstream.baseUrl,
          apiKey: 'upstream-secret',
          timeouts: { firstByteMs: 1500, idleMs: 1500 },
        },
      ],
      models: [{ id: MODEL, aliases: ['qwen', 'qwen-fast'], upstreams: ['vllm-a'] }],
    });
    const { key } = await hunze.createKey({ name: 'chat-test' });
    client = new OpenAI({ apiKey: key, baseURL: hunze.baseURL, maxRetries: 0 });
  });

  afterEach(() => upstream.reset());
  afterAll(async () => {
    await hunze.close();
    await upstream.close();
  });

  it('answers a non-streaming request through an alias, rewritten to the canonical id upstream', async () => {
    const { data, response, request_id } = await client.chat.completions
      .create({ model: 'qwen', messages: [{ role: 'user', content: 'Say hello please' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('Hello from the fake vLLM server.');
    expect(data.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 6, total_tokens: 9 });
    expect(request_id).toMatch(/^req_[0-9a-f]{32}$/);
    expect(response.headers.get('x-request-id')).toBe(request_id);
    const sent = upstream.requests.at(-1)!;
    expect(sent.body.model).toBe(MODEL);
    expect(sent.headers.authorization).toBe('Bearer upstream-secret');
    expect(sent.headers['x-request-id']).toBe(request_id);
  });

  it('passes every OpenAI parameter through unchanged', async () => {
    const params = {
      model: 'qwen',
      messages: [
        { role: 'system' as const, content: 'be brief' },
        {
          role: 'user' as const,
          content: [
            { type: 'text' as const, text: 'what is this?' },
            { type: 'image_url' as const, image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
      ],
      tools: [
        {
          type: 'function' as const,
          function: { name: 'lookup', parameters: { type: 'object', properties: {} } },
        },
      ],
      tool_choice: { type: 'function' as const, function: { name: 'lookup' } },
      n: 2,
      stop: ['END'],
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
      logit_bias: { '42': -100 },
      response_format: { type: 'json_object' as const },
      seed: 7,
      user: 'team-member-17',
      temperature: 0.3,
      top_p: 0.9,
      max_tokens: 64,
    };
    const completion = await client.chat.completions.create(params);
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    const { model, ...rest } = params;
    expect(model).toBe('qwen');
    expect(upstream.requests.at(-1)!.body).toEqual({ ...rest, model: MODEL });
  });

  it("streams chunks as they arrive and hides the usage chunk it asked for on the client's behalf", async () => {
    upstream.chunkDelayMs = 100; // the upstream takes ~1 s for the whole stream (well under the idle timeout)
    const { data: stream, request_id } = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'stream to me' }], stream: true })
      .withResponse();
    let upstreamStillSending: boolean | undefined;
    let text = '';
    let usageSeen = false;
    for await (const chunk of stream) {
      upstreamStillSending ??= upstream.inFlight === 1;
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usageSeen = true;
    }
    expect(text).toBe('Hello from the fake vLLM server.');
    expect(usageSeen).toBe(false);
    // Relayed as they arrived (no buffering): the first chunk was here before the upstream had finished.
    expect(upstreamStillSending).toBe(true);
    expect(upstream.requests.at(-1)!.body.stream_options).toEqual({ include_usage: true });
    await expectMetered(hunze, request_id, { promptTokens: 3, completionTokens: 6 });
  });

  it('hands the usage chunk to a client that asked for it', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'count my tokens' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 6, total_tokens: 9 });
  });

  it.each([
    ['error-new', 400, 'upstream_rejected'],
    ['error-old', 400, 'upstream_rejected'],
    ['error-echo', 400, 'upstream_rejected'],
    ['plain-text-500', 502, 'upstream_error'],
    ['unauthorized', 502, 'upstream_error'],
    ['reset', 502, 'upstream_connection_failed'],
    ['hang', 504, 'upstream_timeout'],
  ] as const)(
    'rewrites upstream failure %s into %i %s without the upstream text',
    async (mode, status, code) => {
      upstream.mode = mode;
      const canary = `canary-${mode}-${Date.now()}`;
      const error = await client.chat.completions
        .create({ model: MODEL, messages: [{ role: 'user', content: canary }] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      const apiError = error as InstanceType<typeof OpenAI.APIError>;
      expect(apiError.status).toBe(status);
      expect(apiError.code).toBe(code);
      expect(JSON.stringify(apiError.error)).not.toContain(canary);
      expect(apiError.headers?.get('x-should-retry')).toBe(status >= 500 ? 'true' : 'false');
    },
  );

  it('answers 503 when the upstream refuses connections', async () => {
    const down = await startTestApp({
      upstreams: [{ id: 'gone', baseUrl: 'http://127.0.0.1:9/v1', healthCheck: { intervalSeconds: 5 } }],
      models: [{ id: MODEL, upstreams: ['gone'] }],
    });
    try {
      const { key } = await down.createKey();
      const c = new OpenAI({ apiKey: key, baseURL: down.baseURL, maxRetries: 0 });
      const error = (await c.chat.completions
        .create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(error.status).toBe(503);
      expect(error.code).toBe('upstream_unavailable');
      const ready = await fetch(`${down.url}/readyz`);
      expect(ready.status).toBe(503);
    } finally {
      await down.close();
    }
  });

  it.each(['reset-mid-stream', 'error-mid-stream', 'no-done'] as const)(
    'ends a stream that fails midway (%s) with an error event, never a stream that looks complete',
    async (mode) => {
      upstream.mode = mode;
      const { data: stream, request_id } = await client.chat.completions
        .create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: true })
        .withResponse();
      let text = '';
      const consume = async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      };
      await expect(consume()).rejects.toThrow();
      expect(text.length).toBeGreaterThan(0);
      await expectMetered(hunze, request_id, {
        errorCode: 'upstream_error',
        orCode: 'upstream_connection_failed',
      });
    },
  );

  it('fails a stream whose upstream stalls between chunks with an error event', async () => {
    // Far above the 1.5 s idle timeout: the stall is unmistakable however late the timers fire.
    upstream.chunkDelayMs = 10_000;
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const consume = async () => {
      for await (const chunk of stream) void chunk;
    };
    await expect(consume()).rejects.toThrow(/did not answer in time/);
  });

  it('aborts the upstream request within 100 ms when the client goes away', async () => {
    for (const stream of [false, true]) {
      upstream.reset();
      upstream.mode = stream ? 'ok' : 'hang';
      upstream.chunkDelayMs = stream ? 2000 : 0;
      // Cancelled by the same signal: its server notices the client leaving in what this machine needs
      // right now, and the upstream must see the abort within 100 ms on top of that.
      const control = await startHangingServer();
      try {
        const controller = new AbortController();
        const controlRequest = fetch(control.url, { method: 'POST', signal: controller.signal }).catch(
          () => undefined,
        );
        let firstChunk = false;
        const pending = client.chat.completions
          .create(
            { model: MODEL, messages: [{ role: 'user', content: 'long' }], stream },
            { signal: controller.signal },
          )
          .then(async (s) => {
            if (stream) for await (const c of s as AsyncIterable<unknown>) firstChunk = !!c;
          })
          .catch(() => undefined);
        // The request is upstream (and, streaming, the client is reading it) before the client leaves.
        await until(() => control.arrived === 1 && upstream.requests.length === 1 && (!stream || firstChunk));
        const abortedAt = Date.now();
        controller.abort();
        await Promise.all([pending, controlRequest]);
        await until(() => upstream.aborted.length === 1 && control.closedAt.length === 1);
        const controlMs = control.closedAt[0]! - abortedAt;
        expect(upstream.aborted[0]!.at - abortedAt).toBeLessThan(controlMs + 100);
      } finally {
        await control.close();
      }
    }
  });
});

/** The request's metadata record reached the log with the expected numbers. */
async function expectMetered(
  hunze: TestApp,
  requestId: string | null,
  expected: { promptTokens?: number; completionTokens?: number; errorCode?: string; orCode?: string },
): Promise<void> {
  const record = () =>
    hunze.logLines
      .filter((l) => l.includes('"evt":"request"') && l.includes(`"requestId":"${requestId}"`))
      .map((l) => JSON.parse(l) as Record<string, unknown>)[0];
  // Written as the last bytes go out: a client may have thrown on a stream's error event before that.
  await until(() => record() !== undefined);
  const last = record()!;
  expect(last.endpoint).toBe('/v1/chat/completions');
  if (expected.promptTokens !== undefined) expect(last.promptTokens).toBe(expected.promptTokens);
  if (expected.completionTokens !== undefined) expect(last.completionTokens).toBe(expected.completionTokens);
  if (expected.errorCode) expect([expected.errorCode, expected.orCode]).toContain(last.errorCode);
}
