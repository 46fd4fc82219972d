// Transcription and diarization through a real Hunze, with the official openai SDK as the client (plain
// fetch for /audio/diarize, which the SDK does not know) and a fake WhisperX server (Nyralei style) that
// records the size and sha256 of what it received: the bytes arrive intact, stream while the client is still
// sending, every response_format is rendered from WhisperX's raw result, and bad input is a 400.
import { createHash } from 'node:crypto';
import http from 'node:http';
import OpenAI, { toFile } from 'openai';
import { FAKE_SEGMENTS, FakeWhisperx, type TranscriptionRecord } from '../fakes/fake-whisperx';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { expectMetered, requestRecords } from '../helpers/metering';
import { startHangingServer, until } from '../helpers/raw-http';

const MODEL = 'whisperx/large-v3';
const CHAT_MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const MB = 1024 * 1024;
const TEXT =
  'Hello, thanks for calling Hunze support.\nHi, I have a question about my invoice.\nSure, let me pull that up for you.';
type ApiError = InstanceType<typeof OpenAI.APIError>;

/** Deterministic "audio" bytes (every byte value occurs, CRLF and dashes included). */
function audioBytes(size: number, seed = 1): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff;
  return bytes;
}
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('POST /v1/audio/transcriptions and /v1/audio/diarize', () => {
  let whisperx: FakeWhisperx;
  let hunze: TestApp;
  let client: OpenAI;
  let key: string;
  let recordsBefore = 0;
  const big = audioBytes(3 * MB);

  beforeAll(async () => {
    whisperx = await FakeWhisperx.start({ apiKey: 'whisper-secret' });
    hunze = await startTestApp({
      upstreams: [
        {
          id: 'whisperx-a',
          baseUrl: whisperx.baseUrl,
          apiKey: 'whisper-secret',
          timeouts: { firstByteMs: 1500 },
        },
      ],
      models: [
        { id: MODEL, aliases: ['whisper-1', 'whisper'], kind: 'audio', upstreams: ['whisperx-a'] },
        { id: CHAT_MODEL, kind: 'chat', upstreams: ['whisperx-a'] },
      ],
    });
    ({ key } = await hunze.createKey({ name: 'audio-test' }));
    client = new OpenAI({ apiKey: key, baseURL: hunze.baseURL, maxRetries: 0 });
  });

  beforeEach(() => {
    recordsBefore = requestRecords(hunze).length;
  });
  afterEach(() => whisperx.reset());
  afterAll(async () => {
    await hunze.close();
    await whisperx.close();
  });

  const lastUpload = () => whisperx.requests.at(-1)!.body as TranscriptionRecord;
  const post = (path: string, body: FormData | string, headers: Record<string, string> = {}) =>
    fetch(`${hunze.baseURL}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, ...headers },
      body,
    });

  it('transcribes a 3 MB upload from the SDK (file first) with the bytes intact', async () => {
    const canary = `canary-audio-ok-${Date.now()}`;
    const { data, response } = await client.audio.transcriptions
      .create({ file: await toFile(big, `${canary}.wav`), model: 'whisper-1', prompt: canary })
      .withResponse();
    expect(data).toEqual({ text: TEXT });
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const sent = lastUpload();
    expect(sent.file).toEqual({
      filename: 'audio.wav', // the client's file name stays in the gateway
      contentType: expect.any(String),
      size: big.length,
      sha256: sha256(big),
    });
    expect(sent.fields).toEqual({ model: MODEL, prompt: canary, response_format: 'verbose_json' });
    expect(whisperx.requests.at(-1)!.headers.authorization).toBe('Bearer whisper-secret');
    expect(hunze.logLines.join('\n')).not.toContain(canary);
    await expectMetered(hunze, recordsBefore, '/v1/audio/transcriptions', {
      model: MODEL,
      upstream: 'whisperx-a',
      status: 200,
      audioSeconds: 7.85,
    });
  });

  it('renders text, srt and vtt from the WhisperX result', async () => {
    const file = () => toFile(audioBytes(1000), 'call.mp3');
    const text = await client.audio.transcriptions.create({
      file: await file(),
      model: MODEL,
      response_format: 'text',
    });
    expect(text).toBe(TEXT);
    const srt = await client.audio.transcriptions.create({
      file: await file(),
      model: MODEL,
      response_format: 'srt',
    });
    expect(srt).toBe(
      '1\n00:00:00,031 --> 00:00:02,512\nHello, thanks for calling Hunze support.\n\n' +
        '2\n00:00:02,912 --> 00:00:05,204\nHi, I have a question about my invoice.\n\n' +
        '3\n00:00:05,600 --> 00:00:07,850\nSure, let me pull that up for you.\n\n',
    );
    const vtt = await post('/audio/transcriptions', form({ model: MODEL, response_format: 'vtt' }, file1k()));
    expect(vtt.headers.get('content-type')).toMatch(/^text\/vtt/);
    expect(await vtt.text()).toMatch(/^WEBVTT\n\n00:00:00\.031 --> 00:00:02\.512\nHello, thanks for calling/);
  });

  it('renders verbose_json with segments, and words when asked for', async () => {
    const verbose = await client.audio.transcriptions.create({
      file: await toFile(audioBytes(2000), 'meeting.m4a'),
      model: MODEL,
      response_format: 'verbose_json',
      language: 'nl',
      temperature: 0.2,
      prompt: 'Hunze, Groningen',
      timestamp_granularities: ['word', 'segment'],
    });
    expect(verbose).toMatchObject({ task: 'transcribe', language: 'nl', duration: 7.85, text: TEXT });
    expect(verbose.segments).toEqual(
      FAKE_SEGMENTS.map((s, id) => ({ id, start: s.start, end: s.end, text: s.text })),
    );
    expect(verbose.words?.[0]).toEqual({ word: 'Hello,', start: 0.031, end: expect.any(Number) });
    expect(verbose.words?.length).toBeGreaterThan(10);
    expect(lastUpload().fields).toEqual({
      language: 'nl',
      temperature: '0.2',
      prompt: 'Hunze, Groningen',
      'timestamp_granularities[]': ['word', 'segment'],
      model: MODEL,
      response_format: 'verbose_json',
    });
    const segmentsOnly = await client.audio.transcriptions.create({
      file: await toFile(audioBytes(10), 'a.ogg'),
      model: MODEL,
      response_format: 'verbose_json',
    });
    expect(segmentsOnly).not.toHaveProperty('words');
  });

  it('asks WhisperX to diarize for diarized_json on /transcriptions and keeps the speaker labels', async () => {
    const diarized = (await client.audio.transcriptions.create({
      file: await toFile(audioBytes(500), 'a.flac'),
      model: MODEL,
      response_format: 'diarized_json',
    })) as unknown as OpenAI.Audio.TranscriptionDiarized;
    expect(lastUpload().fields).toMatchObject({ diarize: 'true', align: 'true' });
    expect(diarized.segments.map((s) => s.speaker)).toEqual(['SPEAKER_00', 'SPEAKER_01', 'SPEAKER_00']);
  });

  it('diarizes on /v1/audio/diarize: fields first, streamed, nested WhisperX segments flattened', async () => {
    const body = form({ model: 'whisper', language: 'en' }, new Blob([big], { type: 'audio/wav' }), 'x.wav');
    const res = await post('/audio/diarize', body);
    expect(res.status).toBe(200);
    await expectMetered(hunze, recordsBefore, '/v1/audio/diarize', { model: MODEL, audioSeconds: 7.85 });
    const answer = (await res.json()) as OpenAI.Audio.TranscriptionDiarized;
    expect(answer).toEqual({
      task: 'transcribe',
      duration: 7.85,
      text: TEXT,
      segments: FAKE_SEGMENTS.map((s, i) => ({
        type: 'transcript.text.segment',
        id: `seg_${i}`,
        start: s.start,
        end: s.end,
        text: s.text.trim(),
        speaker: s.speaker,
      })),
    });
    const sent = lastUpload();
    expect(sent.fields).toEqual({
      language: 'en',
      model: MODEL,
      response_format: 'verbose_json',
      align: 'true',
      diarize: 'true',
    });
    expect(sent.file).toMatchObject({ size: big.length, sha256: sha256(big) });
    // verbose_json on /diarize keeps the speakers on the segments
    const verbose = await post(
      '/audio/diarize',
      form({ model: MODEL, response_format: 'verbose_json' }, file1k()),
    );
    const segments = ((await verbose.json()) as { segments: { speaker?: string }[] }).segments;
    expect(segments.map((s) => s.speaker)).toEqual(['SPEAKER_00', 'SPEAKER_01', 'SPEAKER_00']);
  });

  it('streams the upload to WhisperX while the client is still sending it', async () => {
    const boundary = 'hunze-test-boundary';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\n${MODEL}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.wav"\r\n` +
        'Content-Type: audio/wav\r\n\r\n',
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const req = http.request(`${hunze.baseURL}/audio/transcriptions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
    });
    const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
    });
    req.write(head);
    req.write(big.subarray(0, MB));
    // The first megabyte is out; the rest is held back until WhisperX has seen the request begin.
    await until(() => whisperx.inFlight === 1);
    expect(whisperx.requests).toHaveLength(0); // it is still receiving
    req.write(big.subarray(MB));
    req.end(tail);
    const { status, body } = await answered;
    expect(status).toBe(200);
    expect(JSON.parse(body)).toEqual({ text: TEXT });
    expect(lastUpload().file).toMatchObject({ size: big.length, sha256: sha256(big) });
    expect(whisperx.requests.at(-1)!.headers['transfer-encoding']).toBe('chunked');
  });

  it('aborts the WhisperX request when the client goes away mid-upload', async () => {
    const boundary = 'hunze-abort-boundary';
    const upload = (url: string) => {
      const req = http.request(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
        },
      });
      req.on('error', () => undefined);
      req.write(
        `--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\n${MODEL}\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n`,
      );
      req.write(big.subarray(0, MB));
      return req;
    };
    // The same upload to a server of our own, dropped at the same instant: it notices the client leaving in
    // what this machine needs right now, and WhisperX must see the abort within 500 ms on top of that.
    const control = await startHangingServer();
    try {
      const req = upload(`${hunze.baseURL}/audio/transcriptions`);
      const controlReq = upload(control.url);
      await until(() => whisperx.inFlight === 1 && control.arrived === 1);
      const abortedAt = Date.now();
      req.destroy();
      controlReq.destroy();
      await until(() => whisperx.aborted.length === 1 && control.closedAt.length === 1);
      const controlMs = control.closedAt[0]! - abortedAt;
      expect(whisperx.aborted[0]!.at - abortedAt).toBeLessThan(controlMs + 500);
      expect(whisperx.requests).toHaveLength(0);
    } finally {
      await control.close();
    }
  });

  it.each([
    ['a missing file', () => form({ model: MODEL }), 'file'],
    ['a file of an unsupported type', () => form({ model: MODEL }, file1k(), 'CANARY.exe'), 'file'],
    ['a file without an extension', () => form({ model: MODEL }, file1k(), 'CANARY'), 'file'],
    ['a missing model', () => form({}, file1k()), 'model'],
    [
      'an unknown response_format',
      () => form({ model: MODEL, response_format: 'CANARY' }, file1k()),
      'response_format',
    ],
    [
      'a language that is not ISO-639-1',
      () => form({ model: MODEL, language: 'CANARY' }, file1k()),
      'language',
    ],
    ['a temperature above 1', () => form({ model: MODEL, temperature: '1.5' }, file1k()), 'temperature'],
    [
      'a temperature that is not a number',
      () => form({ model: MODEL, temperature: 'CANARY' }, file1k()),
      'temperature',
    ],
    [
      'an unknown timestamp granularity',
      () => form({ model: MODEL, 'timestamp_granularities[]': 'CANARY' }, file1k()),
      'timestamp_granularities[]',
    ],
    ['stream', () => form({ model: MODEL, stream: 'true' }, file1k()), 'stream'],
    ['a second file', () => twoFiles(), 'file'],
    // after the file, so the upload was already streaming to WhisperX when the mistake arrived
    [
      'a bad field after the file',
      () => form({ model: MODEL }, file1k(), 'a.wav', { response_format: 'CANARY' }),
      'response_format',
    ],
  ] as const)('refuses %s with a 400 naming the field, never its content', async (_name, build, param) => {
    const canary = `canary-audio-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const body = withCanary(build(), canary);
    body.append('prompt', canary);
    const res = await post('/audio/transcriptions', body);
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ error: { type: 'invalid_request_error', param } });
    expect(text).not.toContain(canary);
    await expectMetered(hunze, recordsBefore, '/v1/audio/transcriptions', { status: 400 });
    expect(hunze.logLines.join('\n')).not.toContain(canary);
    expect(whisperx.requests.filter((r) => (r.body as TranscriptionRecord)?.file)).toHaveLength(0);
  });

  it('refuses a body that is not multipart with 415', async () => {
    const res = await post('/audio/transcriptions', JSON.stringify({ model: MODEL, file: 'x' }), {
      'content-type': 'application/json',
    });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
  });

  it('does not count client mistakes mid-upload against the upstream circuit breaker', async () => {
    for (let i = 0; i < 7; i++) {
      const res = await post(
        '/audio/transcriptions',
        form({ model: MODEL }, file1k(), 'a.wav', { language: 'xx-bad' }),
      );
      expect(res.status).toBe(400);
    }
    const ok = await client.audio.transcriptions.create({
      file: await toFile(audioBytes(10), 'a.wav'),
      model: MODEL,
    });
    expect(ok.text).toBe(TEXT);
  });

  it('refuses a chat model (400 wrong_model_kind) and an unknown one (404)', async () => {
    const file = () => toFile(audioBytes(10), 'a.wav');
    const wrong = (await client.audio.transcriptions
      .create({ file: await file(), model: CHAT_MODEL })
      .catch((e: unknown) => e)) as ApiError;
    expect(wrong.status).toBe(400);
    expect(wrong.code).toBe('wrong_model_kind');
    const unknown = (await client.audio.transcriptions
      .create({ file: await file(), model: 'gpt-4o-transcribe' })
      .catch((e: unknown) => e)) as ApiError;
    expect(unknown.status).toBe(404);
    expect(unknown.code).toBe('model_not_found');
    expect(whisperx.requests).toHaveLength(0);
  });

  it.each([
    ['error', 502, 'upstream_error'],
    ['reset', 502, 'upstream_connection_failed'],
    ['hang', 504, 'upstream_timeout'],
  ] as const)('maps a WhisperX failure (%s) to %i %s', async (mode, status, code) => {
    whisperx.mode = mode;
    const error = (await client.audio.transcriptions
      .create({ file: await toFile(audioBytes(1000), 'a.wav'), model: MODEL })
      .catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(status);
    expect(error.code).toBe(code);
    expect(JSON.stringify(error.error)).not.toContain('CUDA');
    await expectMetered(hunze, recordsBefore, '/v1/audio/transcriptions', { errorCode: code, status });
  });
});

describe('audio uploads over server.bodyLimitMb', () => {
  let whisperx: FakeWhisperx;
  let hunze: TestApp;
  let key: string;

  beforeAll(async () => {
    whisperx = await FakeWhisperx.start();
    hunze = await startTestApp({
      upstreams: [{ id: 'whisperx-a', baseUrl: whisperx.baseUrl }],
      models: [{ id: MODEL, kind: 'audio', upstreams: ['whisperx-a'] }],
      bodyLimitMb: 1,
    });
    ({ key } = await hunze.createKey());
  });
  afterEach(() => whisperx.reset());
  afterAll(async () => {
    await hunze.close();
    await whisperx.close();
  });

  it.each([
    ['the file first (held until the model is known)', true],
    ['the fields first (streaming)', false],
  ])('answers 413 request_too_large with %s', async (_name, fileFirst) => {
    const client = new OpenAI({ apiKey: key, baseURL: `${hunze.url}/v1`, maxRetries: 0 });
    const file = await toFile(audioBytes(1.5 * MB), 'long.wav');
    const error = (await (
      fileFirst
        ? client.audio.transcriptions.create({ file, model: MODEL })
        : client.audio.transcriptions.create({ model: MODEL, file } as never)
    ).catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(413);
    expect(error.code).toBe('request_too_large');
    expect(whisperx.requests.filter((r) => r.path === '/v1/audio/transcriptions')).toHaveLength(0);
    // just under the limit passes
    const ok = await client.audio.transcriptions.create({
      model: MODEL,
      file: await toFile(audioBytes(MB - 10), 'a.wav'),
    });
    expect(ok.text).toBe(TEXT);
  });
});

/** A multipart form: `fields`, then the file (if any), then `after`. */
function form(
  fields: Record<string, string>,
  file?: Blob,
  filename = 'a.wav',
  after: Record<string, string> = {},
): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.append(name, value);
  if (file) data.append('file', file, filename);
  for (const [name, value] of Object.entries(after)) data.append(name, value);
  return data;
}

function file1k(): Blob {
  return new Blob([audioBytes(1024)], { type: 'audio/wav' });
}

function twoFiles(): FormData {
  const data = form({ model: MODEL }, file1k());
  data.append('file', file1k(), 'b.wav');
  return data;
}

/** The form with CANARY in names and values replaced by the test's unique canary. */
function withCanary(data: FormData, canary: string): FormData {
  const out = new FormData();
  for (const [name, value] of data.entries()) {
    if (typeof value === 'string') out.append(name, value.replace('CANARY', canary));
    else out.append(name, value, value.name.replace('CANARY', canary));
  }
  return out;
}
