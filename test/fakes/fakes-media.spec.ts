// Exercises the TEI, WhisperX and FLUX fakes over real HTTP, so gateway tests can trust what they speak.
import http from 'node:http';
import { createHash } from 'node:crypto';
import { FakeFlux, PNG_SIGNATURE, type ImagesResponse } from './fake-flux';
import { FakeTei, type TeiEmbeddingsResponse as Embeddings, type TeiErrorBody } from './fake-tei';
import {
  FakeWhisperx,
  type WhisperxNestedSegments,
  type WhisperxSegment,
  type WhisperxTranscript,
} from './fake-whisperx';

async function json<T>(res: Response | Promise<Response>): Promise<T> {
  return (await (await res).json()) as T;
}

async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** Client aborts a hanging request; the fake must record it and drop it from inFlight. */
async function expectAbortRecorded(
  fake: { mode: string; inFlight: number; aborted: { path: string }[]; requests: unknown[] },
  send: (signal: AbortSignal) => Promise<Response>,
): Promise<void> {
  fake.mode = 'hang';
  const seen = fake.requests.length;
  const controller = new AbortController();
  const pending = send(controller.signal);
  // Recorded: this request has reached the fake (not only an earlier one still counted in flight).
  await waitFor(() => fake.requests.length > seen && fake.inFlight === 1);
  controller.abort();
  await expect(pending).rejects.toThrow();
  await waitFor(() => fake.aborted.length === 1);
  expect(fake.inFlight).toBe(0);
}

describe('FakeTei', () => {
  let tei: FakeTei;
  beforeAll(async () => {
    tei = await FakeTei.start();
  });
  afterEach(() => tei.reset());
  afterAll(() => tei.close());
  const embed = (body: unknown, headers?: Record<string, string>): Promise<Response> =>
    postJson(`${tei.baseUrl}/embeddings`, body, headers);

  it('returns deterministic float embeddings with TEI usage', async () => {
    expect(tei.baseUrl).toBe(`http://127.0.0.1:${tei.port}/v1`);
    const res = await embed({ input: ['hello world', 'one two three'], model: 'ignored' });
    expect(res.status).toBe(200);
    const body = await json<Embeddings<number[]>>(res);
    expect(body).toMatchObject({
      object: 'list',
      model: 'BAAI/bge-m3',
      usage: { prompt_tokens: 5, total_tokens: 5 },
    });
    expect(body.data).toHaveLength(2);
    expect(body.data[1]).toMatchObject({ object: 'embedding', index: 1 });
    expect(body.data[0]?.embedding).toHaveLength(1024);
    expect(body.data[0]?.embedding).toEqual(Array.from(tei.embeddingFor('hello world')));
    const again = await json<Embeddings<number[]>>(embed({ input: 'hello world' }));
    expect(again.data[0]?.embedding).toEqual(body.data[0]?.embedding);
    expect(again.usage.prompt_tokens).toBe(2);
    expect(body.data[1]?.embedding).not.toEqual(body.data[0]?.embedding);
  });

  it('encodes base64 as little-endian float32 and honours dimensions', async () => {
    const float = await json<Embeddings<number[]>>(embed({ input: 'vector me', dimensions: 256 }));
    const b64 = await json<Embeddings<string>>(
      embed({ input: 'vector me', dimensions: 256, encoding_format: 'base64' }),
    );
    expect(typeof b64.data[0]?.embedding).toBe('string');
    // copy into a fresh Uint8Array so the Float32Array view starts at offset 0 (Buffer pools are unaligned)
    const decoded = new Float32Array(
      new Uint8Array(Buffer.from(b64.data[0]?.embedding ?? '', 'base64')).buffer,
    );
    expect(decoded).toHaveLength(256);
    expect(Array.from(decoded)).toEqual(float.data[0]?.embedding);
    const norm = Math.sqrt(Array.from(decoded).reduce((sum, v) => sum + v * v, 0));
    expect(norm).toBeCloseTo(1, 5);
  });

  it('enforces max_client_batch_size and rejects empty batches in the flat error shape', async () => {
    const tooMany = await embed({ input: Array.from({ length: 33 }, (_, i) => `text ${i}`) });
    expect(tooMany.status).toBe(413);
    expect(await tooMany.json()).toEqual({
      message: 'batch size 33 > maximum allowed batch size 32',
      code: 413,
      type: 'validation',
    });
    const empty = await embed({ input: [] });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toEqual({ message: '`inputs` cannot be empty', code: 400, type: 'empty' });
    const untyped = await fetch(`${tei.baseUrl}/embeddings`, { method: 'POST', body: '{"input":"x"}' });
    expect(untyped.status).toBe(415); // fetch labels a string body text/plain; TEI wants JSON
    await embed({ input: Array.from({ length: 32 }, () => 'x') });
    await embed({ input: 'single' });
    expect(tei.batchSizes).toEqual([33, 0, 1, 32, 1]);
  });

  it.each([
    ['overloaded', 429, 'Model is overloaded'],
    ['backend-error', 424, undefined],
    ['tokenizer-error', 422, undefined],
  ] as const)('mode %s answers %i', async (mode, status, message) => {
    tei.mode = mode;
    const res = await embed({ input: ['secret customer text'] });
    expect(res.status).toBe(status);
    const body = await json<TeiErrorBody>(res);
    expect(body).toMatchObject({ code: status, type: mode.replace('-error', '') });
    if (message) expect(body.message).toBe(message);
    if (mode === 'tokenizer-error') expect(body.message).toContain('secret customer text');
  });

  it('serves /health and /info', async () => {
    const root = `http://127.0.0.1:${tei.port}`;
    expect((await fetch(`${root}/health`)).status).toBe(200);
    tei.healthy = false;
    const down = await fetch(`${root}/health`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ error: 'unhealthy', error_type: 'unhealthy' });
    const info = await json<Record<string, unknown>>(fetch(`${root}/info`));
    expect(info).toMatchObject({
      model_id: 'BAAI/bge-m3',
      max_input_length: 8192,
      max_client_batch_size: 32,
      max_batch_tokens: 16384,
      version: '1.9.0',
    });
  });

  it('resets the connection, delays the first byte, and records aborts', async () => {
    tei.mode = 'reset';
    await expect(embed({ input: 'x' })).rejects.toThrow();
    expect(tei.aborted).toEqual([]);
    tei.mode = 'ok';
    tei.firstByteDelayMs = 150;
    const started = Date.now();
    expect((await embed({ input: 'x' })).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await expectAbortRecorded(tei, (signal) =>
      fetch(`${tei.baseUrl}/embeddings`, { method: 'POST', body: '{"input":"x"}', signal }),
    );
    expect(tei.aborted[0]?.path).toBe('/v1/embeddings');
  });

  it('requires the bearer key when configured (empty 401, public /health)', async () => {
    const secured = await FakeTei.start({ apiKey: 'k1', maxClientBatchSize: 4, dimensions: 8 });
    try {
      const denied = await postJson(`${secured.baseUrl}/embeddings`, { input: 'x' });
      expect(denied.status).toBe(401);
      expect(await denied.text()).toBe('');
      expect((await fetch(`http://127.0.0.1:${secured.port}/info`)).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${secured.port}/health`)).status).toBe(200);
      const ok = await postJson(
        `${secured.baseUrl}/embeddings`,
        { input: ['a', 'b'] },
        { authorization: 'Bearer k1' },
      );
      expect((await json<Embeddings<number[]>>(ok)).data[0]?.embedding).toHaveLength(8);
      expect(secured.requests[0]?.headers.authorization).toBeUndefined();
      expect(secured.requests.at(-1)?.headers.authorization).toBe('Bearer k1');
    } finally {
      await secured.close();
    }
  });
});

describe('FakeWhisperx', () => {
  let whisperx: FakeWhisperx;
  beforeAll(async () => {
    whisperx = await FakeWhisperx.start();
  });
  afterEach(() => whisperx.reset());
  afterAll(() => whisperx.close());

  const audio = Buffer.from('RIFF....WAVEfmt fake audio bytes');
  function form(fields: Record<string, string | string[]>, withFile = true): FormData {
    const data = new FormData();
    if (withFile) data.append('file', new Blob([audio], { type: 'audio/wav' }), 'call.wav');
    for (const [name, value] of Object.entries(fields)) for (const v of [value].flat()) data.append(name, v);
    return data;
  }
  const transcribe = (body: FormData): Promise<Response> =>
    fetch(`${whisperx.baseUrl}/audio/transcriptions`, { method: 'POST', body });

  it('answers json with text only and records the upload without its bytes', async () => {
    const res = await transcribe(
      form({
        model: 'large-v3',
        language: 'de',
        'timestamp_granularities[]': ['word', 'segment'],
        diarize: 'true',
      }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      text: 'Hello, thanks for calling Hunze support.\nHi, I have a question about my invoice.\nSure, let me pull that up for you.',
    });
    expect(whisperx.requests[0]?.body).toEqual({
      fields: {
        model: 'large-v3',
        language: 'de',
        'timestamp_granularities[]': ['word', 'segment'],
        diarize: 'true',
      },
      file: {
        filename: 'call.wav',
        contentType: 'audio/wav',
        size: audio.length,
        sha256: createHash('sha256').update(audio).digest('hex'),
      },
    });
  });

  it('nests segments when aligned and diarized, flat otherwise', async () => {
    const nested = await json<WhisperxTranscript<WhisperxNestedSegments>>(
      transcribe(form({ response_format: 'verbose_json', diarize: 'true', align: 'true' })),
    );
    expect(nested.language).toBe('en');
    expect(Array.isArray(nested.segments)).toBe(false);
    expect(nested.segments.segments).toHaveLength(3);
    expect(nested.segments.segments.map((s) => s.speaker)).toEqual([
      'SPEAKER_00',
      'SPEAKER_01',
      'SPEAKER_00',
    ]);
    expect(nested.segments.segments[0]?.words?.[0]).toMatchObject({ word: 'Hello,', speaker: 'SPEAKER_00' });
    expect(nested.segments.word_segments.length).toBeGreaterThan(10);

    const flat = await json<WhisperxTranscript<WhisperxSegment[]>>(
      transcribe(form({ response_format: 'diarized_json' })),
    );
    expect(flat.segments).toHaveLength(3);
    expect(flat.segments[1]).toMatchObject({
      start: 2.912,
      end: 5.204,
      text: ' Hi, I have a question about my invoice.',
    });
    expect(flat.segments[1]).not.toHaveProperty('speaker');
    expect(flat.segments[1]?.words?.[0]).toEqual({
      word: 'Hi,',
      start: expect.any(Number),
      end: expect.any(Number),
      score: expect.any(Number),
    });
    const raw = await json<WhisperxTranscript<WhisperxSegment[]>>(
      transcribe(form({ response_format: 'verbose_json', align: 'false' })),
    );
    expect(raw.segments[0]).toEqual({
      start: 0.031,
      end: 2.512,
      text: ' Hello, thanks for calling Hunze support.',
    });
  });

  it('renders text, SRT and WebVTT', async () => {
    const text = await transcribe(form({ response_format: 'text' }));
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await text.text()).toMatch(/^Hello, thanks/);
    const srt = await (await transcribe(form({ response_format: 'srt', diarize: 'true' }))).text();
    expect(srt).toMatch(
      /^1\n00:00:00,031 --> 00:00:02,512\n\[SPEAKER_00\]: Hello, thanks for calling Hunze support\.\n\n2\n/,
    );
    const vtt = await transcribe(form({ response_format: 'vtt' }));
    expect(vtt.headers.get('content-type')).toMatch(/^text\/vtt/);
    expect(await vtt.text()).toMatch(/^WEBVTT\n\n00:00\.031 --> 00:02\.512\nHello, thanks/);
  });

  it('rejects a missing file and reports backend failures as FastAPI detail', async () => {
    const missing = await transcribe(form({ model: 'large-v3' }, false));
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ detail: expect.any(String) });
    expect((await transcribe(form({ diarize: 'true', align: 'false' }))).status).toBe(500);
    whisperx.mode = 'error';
    const failed = await transcribe(form({}));
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ detail: 'CUDA out of memory' });
  });

  it('parses a multipart body that arrives in small chunks', async () => {
    const boundary = 'XyZboundary';
    const payload = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="response_format"\r\n\r\nvtt\r\n`),
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp3"\r\nContent-Type: audio/mpeg\r\n\r\n`,
      ),
      Buffer.from([0, 1, 2, 13, 10, 45, 45, 3]), // includes CRLF-- inside the file bytes
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        `${whisperx.baseUrl}/audio/transcriptions`,
        { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      for (let i = 0; i < payload.length; i += 7) req.write(payload.subarray(i, i + 7));
      req.end();
    });
    expect(status).toBe(200);
    expect(whisperx.requests[0]?.headers['transfer-encoding']).toBe('chunked');
    expect(whisperx.requests[0]?.body.file).toMatchObject({ filename: 'a.mp3', size: 8 });
  });

  it('serves health, resets and records aborted uploads', async () => {
    expect((await fetch(`http://127.0.0.1:${whisperx.port}/health`)).status).toBe(200);
    whisperx.healthy = false;
    expect((await fetch(`http://127.0.0.1:${whisperx.port}/health`)).status).toBe(503);
    whisperx.mode = 'reset';
    await expect(transcribe(form({}))).rejects.toThrow();
    await expectAbortRecorded(whisperx, (signal) =>
      fetch(`${whisperx.baseUrl}/audio/transcriptions`, { method: 'POST', body: form({}), signal }),
    );
  });
});

describe('FakeFlux', () => {
  let flux: FakeFlux;
  beforeAll(async () => {
    flux = await FakeFlux.start({ apiKey: 'img-key' });
  });
  afterEach(() => flux.reset());
  afterAll(() => flux.close());
  const generate = (body: unknown, signal?: AbortSignal): Promise<Response> =>
    fetch(`${flux.baseUrl}/images/generations`, {
      method: 'POST',
      headers: { authorization: 'Bearer img-key', 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });

  it('returns n real PNGs as b64_json even when url was asked for', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await generate({
      prompt: 'a red fox',
      model: 'flux-schnell',
      n: 2,
      size: '512x512',
      response_format: 'url',
      seed: 7,
    });
    expect(res.status).toBe(200);
    const body = await json<ImagesResponse>(res);
    // Unix seconds of the answer: within the request, however long a loaded machine took for it.
    expect(body.created).toBeGreaterThanOrEqual(before);
    expect(body.created).toBeLessThanOrEqual(Date.now() / 1000);
    expect(body.data).toHaveLength(2);
    const images = body.data.map((d) => Buffer.from(d.b64_json, 'base64'));
    for (const png of images) {
      expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
      expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([8, 8]);
    }
    expect(images[0]?.equals(images[1] ?? Buffer.alloc(0))).toBe(false);
    const again = await json<ImagesResponse>(generate({ prompt: 'a red fox', n: 1, seed: 7 }));
    expect(again.data[0]?.b64_json).toBe(body.data[0]?.b64_json);
    expect(flux.requests[0]?.body).toMatchObject({ prompt: 'a red fox', n: 2 });
  });

  it('validates like FastAPI, fails in error mode and enforces the key', async () => {
    const invalid = await generate({ prompt: 'x', n: 5 });
    expect(invalid.status).toBe(422);
    expect((await json<{ detail: unknown[] }>(invalid)).detail[0]).toMatchObject({ loc: ['body', 'n'] });
    flux.mode = 'error';
    const failed = await generate({ prompt: 'x' });
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ detail: expect.any(String) });
    const denied = await fetch(`${flux.baseUrl}/images/generations`, {
      method: 'POST',
      body: '{"prompt":"x"}',
    });
    expect(denied.status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${flux.port}/health`)).status).toBe(200);
  });

  it('resets, records aborts and closes with a request still hanging', async () => {
    flux.mode = 'reset';
    await expect(generate({ prompt: 'x' })).rejects.toThrow();
    await expectAbortRecorded(flux, (signal) => generate({ prompt: 'x' }, signal));
    const other = await FakeFlux.start();
    other.mode = 'hang';
    const pending = fetch(`${other.baseUrl}/images/generations`, { method: 'POST', body: '{"prompt":"x"}' });
    await waitFor(() => other.inFlight === 1);
    await other.close();
    await expect(pending).rejects.toThrow();
    expect(other.aborted).toEqual([]);
  });
});
