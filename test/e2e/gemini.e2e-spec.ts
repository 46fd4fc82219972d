// Gemini-compatible generateContent / streamGenerateContent through a real Hunze, with Google's own SDK
// (@google/genai, pointed at Hunze by httpOptions.baseUrl) as the client and a fake vLLM chat upstream.
// Plain fetch only where the SDK cannot express the call (the ?key= form, the JSON-array stream, raw bodies).
import { ApiError as GoogleApiError, GoogleGenAI } from '@google/genai';
import { FakeVllm } from '../fakes/fake-vllm';
import { startHangingServer, until } from '../helpers/raw-http';
import { startTestApp, type TestApp } from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const EMBEDDER = 'BAAI/bge-m3';
const TEXT = 'Hello from the fake vLLM server.';

type Obj = Record<string, any>;

describe('Gemini API: /v1beta/models/{model}:generateContent', () => {
  let upstream: FakeVllm;
  let hunze: TestApp;
  let key: string;
  let ai: GoogleGenAI;
  /** Metadata records logged before the current test: its own come after. */
  let recordsBefore = 0;

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: MODEL });
    hunze = await startTestApp({
      upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl, timeouts: { firstByteMs: 1500, idleMs: 1500 } }],
      models: [
        { id: MODEL, aliases: ['qwen'], upstreams: ['vllm-a'] },
        { id: 'other-chat', upstreams: ['vllm-a'] },
        { id: EMBEDDER, kind: 'embedding', upstreams: ['vllm-a'] },
      ],
    });
    ({ key } = await hunze.createKey({ name: 'gemini-test' }));
    ai = sdk(key, 'v1beta');
  });

  beforeEach(() => {
    recordsBefore = records().length;
  });
  afterEach(() => upstream.reset());
  afterAll(async () => {
    await hunze.close();
    await upstream.close();
  });

  function sdk(apiKey: string, apiVersion?: string): GoogleGenAI {
    return new GoogleGenAI({
      apiKey,
      httpOptions: {
        baseUrl: hunze.url,
        ...(apiVersion ? { apiVersion } : {}),
        retryOptions: { attempts: 1 },
      },
    });
  }

  function post(path: string, body: unknown, headers: Record<string, string> = { 'x-goog-api-key': key }) {
    return fetch(`${hunze.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  function records(): Obj[] {
    return hunze.logLines.filter((l) => l.includes('"evt":"request"')).map((l) => JSON.parse(l) as Obj);
  }

  /** The newest record of this test (written as the last bytes go out: maybe after the client saw them). */
  async function lastRecord(): Promise<Obj> {
    await until(() => records().length > recordsBefore);
    return records().at(-1)!;
  }

  it('translates a request with every generationConfig field, and the answer back', async () => {
    const response = await ai.models.generateContent({
      model: 'qwen',
      contents: 'Say hello please',
      config: {
        systemInstruction: 'be brief',
        temperature: 0.4,
        topP: 0.9,
        topK: 20,
        candidateCount: 1,
        maxOutputTokens: 64,
        stopSequences: ['END'],
        seed: 7,
        presencePenalty: 0.5,
        frequencyPenalty: 0.25,
        responseMimeType: 'application/json',
        safetySettings: [],
      },
    });
    expect(response.text).toBe(TEXT);
    expect(response.candidates?.[0]).toMatchObject({
      content: { role: 'model', parts: [{ text: TEXT }] },
      finishReason: 'STOP',
      index: 0,
    });
    expect(response.usageMetadata).toEqual({
      promptTokenCount: 5,
      candidatesTokenCount: 6,
      totalTokenCount: 11,
    });
    expect(response.modelVersion).toBe(MODEL);
    expect(upstream.requests.at(-1)!.body).toEqual({
      model: MODEL,
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'Say hello please' },
      ],
      temperature: 0.4,
      top_p: 0.9,
      top_k: 20,
      n: 1,
      max_tokens: 64,
      stop: ['END'],
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
      response_format: { type: 'json_object' },
    });
    const record = await lastRecord();
    expect(record).toMatchObject({
      endpoint: '/v1beta/models/*',
      status: 200,
      model: MODEL,
      upstream: 'vllm-a',
      promptTokens: 5,
      completionTokens: 6,
    });
  });

  it("serves the SDK's default API version (/v1) and a model id with a slash; turns and images translate", async () => {
    const response = await sdk(key).models.generateContent({
      model: MODEL,
      contents: [
        {
          role: 'user',
          parts: [{ text: 'what is this?' }, { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } }],
        },
        { role: 'model', parts: [{ text: 'A tiny ' }, { text: 'picture.' }] },
        { role: 'user', parts: [{ text: 'thanks' }] },
      ],
    });
    expect(response.text).toBe(TEXT);
    expect(upstream.requests.at(-1)!.body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        ],
      },
      { role: 'assistant', content: 'A tiny picture.' },
      { role: 'user', content: 'thanks' },
    ]);
    expect((await lastRecord()).endpoint).toBe('/v1/models/*');
  });

  it('maps candidateCount to n and each choice to a candidate; MAX_TOKENS and JSON schema translate', async () => {
    const response = await ai.models.generateContent({
      model: MODEL,
      contents: 'two please',
      config: {
        candidateCount: 2,
        responseMimeType: 'application/json',
        responseSchema: { type: 'OBJECT' as never, properties: { a: { type: 'STRING' as never } } },
      },
    });
    expect(response.candidates?.map((c) => c.index)).toEqual([0, 1]);
    const sent = upstream.requests.at(-1)!.body as Obj;
    expect(sent.n).toBe(2);
    expect(sent.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'response', schema: { type: 'object', properties: { a: { type: 'string' } } } },
    });
  });

  it('streams with ?alt=sse chunk by chunk, the last one carrying finishReason and usageMetadata', async () => {
    upstream.chunkDelayMs = 100; // the upstream takes ~1 s for the whole stream (well under the idle timeout)
    const stream = await ai.models.generateContentStream({ model: 'qwen', contents: 'stream to me' });
    let upstreamStillSending: boolean | undefined;
    const chunks: Obj[] = [];
    for await (const chunk of stream) {
      upstreamStillSending ??= upstream.inFlight === 1;
      chunks.push(chunk);
    }
    expect(chunks.map((c) => c.text as string).join('')).toBe(TEXT);
    // Relayed as they arrived: the first chunk was here before the upstream had finished.
    expect(upstreamStillSending).toBe(true);
    const last = chunks.at(-1)!;
    expect(last.candidates[0].finishReason).toBe('STOP');
    expect(last.usageMetadata).toEqual({ promptTokenCount: 3, candidatesTokenCount: 6, totalTokenCount: 9 });
    expect(upstream.requests.at(-1)!.body).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(await lastRecord()).toMatchObject({ stream: true, promptTokens: 3, completionTokens: 6 });
  });

  it('frames SSE like Google (data: ...\\r\\n\\r\\n) and takes the key from ?key=, never logging it', async () => {
    const res = await post(
      `/v1beta/models/${MODEL}:streamGenerateContent?alt=sse&key=${key}`,
      { contents: [{ parts: [{ text: 'hi' }] }] },
      {},
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const raw = await res.text();
    const events = raw.split('\r\n\r\n').filter(Boolean);
    expect(events.every((e) => e.startsWith('data: {'))).toBe(true);
    expect(
      events.map((e) => (JSON.parse(e.slice(6)) as Obj).candidates[0].content.parts[0].text).join(''),
    ).toBe(TEXT);
    expect(raw).not.toContain('[DONE]');
    await lastRecord();
    expect(hunze.logLines.join('\n')).not.toContain(key);
  });

  it('answers streamGenerateContent without alt=sse as one JSON array', async () => {
    const res = await post(`/v1beta/models/qwen:streamGenerateContent`, {
      contents: [{ role: 'user', parts: [{ text: 'hi' }] }],
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const items = (await res.json()) as Obj[];
    expect(items.length).toBeGreaterThan(2);
    expect(items.map((i) => i.candidates[0].content.parts[0].text).join('')).toBe(TEXT);
    expect(items.at(-1)!.usageMetadata.totalTokenCount).toBe(7);
  });

  it('aborts the upstream stream within 100 ms when the client goes away', async () => {
    upstream.chunkDelayMs = 500; // the response starts with the first text (~0.5 s); the rest takes seconds
    // Cancelled by the same signal: its server notices the client leaving in what this machine needs right
    // now, and the upstream must see the abort within 100 ms on top of that.
    const control = await startHangingServer();
    try {
      const controller = new AbortController();
      const controlRequest = fetch(control.url, { method: 'POST', signal: controller.signal }).catch(
        () => undefined,
      );
      const res = await fetch(`${hunze.url}/v1beta/models/qwen:streamGenerateContent?alt=sse`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': key },
        body: JSON.stringify({ contents: [{ parts: [{ text: 'long' }] }] }),
        signal: controller.signal,
      });
      expect(res.status).toBe(200);
      await until(() => control.arrived === 1);
      expect(upstream.aborted).toHaveLength(0);
      const abortedAt = Date.now();
      controller.abort();
      await controlRequest;
      await until(() => upstream.aborted.length === 1 && control.closedAt.length === 1);
      const controlMs = control.closedAt[0]! - abortedAt;
      expect(upstream.aborted[0]!.at - abortedAt).toBeLessThan(controlMs + 100);
    } finally {
      await control.close();
    }
  });

  describe('errors in Google shape, from the catalogue', () => {
    async function expectGoogleError(res: Response, code: number, status: string): Promise<Obj> {
      expect(res.status).toBe(code);
      const body = (await res.json()) as Obj;
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error).toEqual({ code, message: expect.any(String), status });
      return body.error;
    }

    it('401 UNAUTHENTICATED without a key or with a wrong one', async () => {
      await expectGoogleError(
        await post(`/v1beta/models/qwen:generateContent`, { contents: [] }, {}),
        401,
        'UNAUTHENTICATED',
      );
      const error = await sdk('hz-wrong-key', 'v1beta')
        .models.generateContent({ model: 'qwen', contents: 'x' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GoogleApiError);
      expect((error as GoogleApiError).status).toBe(401);
    });

    it('404 NOT_FOUND for an unknown model or method, 403 for a model the key may not use', async () => {
      await expectGoogleError(
        await post(`/v1beta/models/nope:generateContent`, { contents: [{ parts: [{ text: 'x' }] }] }),
        404,
        'NOT_FOUND',
      );
      await expectGoogleError(
        await post(`/v1beta/models/qwen:countTokens`, { contents: [{ parts: [{ text: 'x' }] }] }),
        404,
        'NOT_FOUND',
      );
      const limited = await hunze.createKey({ name: 'limited', models: ['other-chat'] });
      const denied = await post(
        `/v1beta/models/qwen:generateContent`,
        { contents: [{ parts: [{ text: 'x' }] }] },
        {
          'x-goog-api-key': limited.key,
        },
      );
      await expectGoogleError(denied, 403, 'PERMISSION_DENIED');
    });

    it('400 INVALID_ARGUMENT for a model of the wrong kind', async () => {
      const error = await expectGoogleError(
        await post(`/v1beta/models/${EMBEDDER}:generateContent`, { contents: [{ parts: [{ text: 'x' }] }] }),
        400,
        'INVALID_ARGUMENT',
      );
      expect(error.message).toMatch(/embedding model/);
    });

    it.each([
      ['contents missing', (c: string) => ({ systemInstruction: { parts: [{ text: c }] } }), /contents/],
      ['contents empty', () => ({ contents: [] }), /contents/],
      [
        'role unknown',
        (c: string) => ({ contents: [{ role: 'system', parts: [{ text: c }] }] }),
        /contents\[0\]\.role/,
      ],
      [
        'part not text',
        (c: string) => ({ contents: [{ parts: [{ text: 5, c }] }] }),
        /contents\[0\]\.parts\[0\]\.text/,
      ],
      [
        'function call part',
        (c: string) => ({ contents: [{ parts: [{ functionCall: { name: c } }] }] }),
        /contents\[0\]\.parts\[0\]/,
      ],
      [
        'bad mime type',
        (c: string) => ({ contents: [{ parts: [{ inlineData: { mimeType: `x/${c}`, data: 'AA==' } }] }] }),
        /inlineData\.mimeType/,
      ],
      [
        'data not base64',
        (c: string) => ({
          contents: [{ parts: [{ inlineData: { mimeType: 'image/png', data: `${c}!` } }] }],
        }),
        /inlineData\.data/,
      ],
      [
        'temperature out of range',
        (c: string) => ({ contents: [{ parts: [{ text: c }] }], generationConfig: { temperature: 5 } }),
        /generationConfig\.temperature/,
      ],
      [
        'stopSequences not strings',
        (c: string) => ({
          contents: [{ parts: [{ text: 'x' }] }],
          generationConfig: { stopSequences: [1, c] },
        }),
        /generationConfig\.stopSequences/,
      ],
      [
        'tools',
        (c: string) => ({
          contents: [{ parts: [{ text: 'x' }] }],
          tools: [{ functionDeclarations: [{ name: c }] }],
        }),
        /tools/,
      ],
      [
        'too many contents',
        (c: string) => ({ contents: Array.from({ length: 1001 }, () => ({ parts: [{ text: c }] })) }),
        /at most 1000/,
      ],
    ])('400 INVALID_ARGUMENT naming the field, never its content: %s', async (_name, build, expected) => {
      const canary = `canary-gemini-${Math.random().toString(36).slice(2)}`;
      const res = await post(`/v1beta/models/qwen:generateContent`, build(canary));
      const raw = await res.clone().text();
      const error = await expectGoogleError(res, 400, 'INVALID_ARGUMENT');
      expect(error.message).toMatch(expected);
      expect(raw).not.toContain(canary);
      await lastRecord();
      expect(hunze.logLines.join('\n')).not.toContain(canary);
      expect(upstream.requests).toHaveLength(0);
    });

    it('400 INVALID_ARGUMENT for a body that is not JSON', async () => {
      await expectGoogleError(
        await post(`/v1beta/models/qwen:generateContent`, '{"contents": [canary'),
        400,
        'INVALID_ARGUMENT',
      );
    });

    it.each([
      ['error-echo', 400, 'INVALID_ARGUMENT'],
      ['plain-text-500', 502, 'UNAVAILABLE'],
      ['hang', 504, 'DEADLINE_EXCEEDED'],
    ] as const)('maps upstream failure %s to %i %s without the upstream text', async (mode, code, status) => {
      upstream.mode = mode;
      const canary = `canary-upstream-${mode}-${Date.now()}`;
      const error = await ai.models
        .generateContent({ model: 'qwen', contents: canary })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GoogleApiError);
      expect((error as GoogleApiError).status).toBe(code);
      expect((error as GoogleApiError).message).toContain(`"status":"${status}"`);
      expect((error as GoogleApiError).message).not.toContain(canary);
      const record = await lastRecord();
      expect(record.status).toBe(code);
      expect(hunze.logLines.join('\n')).not.toContain(canary);
    });

    it('ends a stream that fails midway with a Google error the SDK raises', async () => {
      upstream.mode = 'error-mid-stream';
      const stream = await ai.models.generateContentStream({ model: 'qwen', contents: 'hi' });
      let text = '';
      const consume = async () => {
        for await (const chunk of stream) text += chunk.text ?? '';
      };
      const error = await consume().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GoogleApiError);
      expect((error as GoogleApiError).status).toBe(502);
      expect(text.length).toBeGreaterThan(0);
      expect((await lastRecord()).errorCode).toBe('upstream_error');
    });
  });
});
