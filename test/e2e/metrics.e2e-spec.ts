// GET /metrics through a real Hunze and the official openai SDK: request, token, duration and TTFT series
// labelled with the config's model and upstream ids and equal to what the fake upstream reported; errors by
// catalogue code; open streams up while a slow stream runs and back to 0 after it completes, after a client
// abort and after an upstream reset mid-stream; upstream health from the probes; no label made of client text
// or key material; the process metrics.
import OpenAI from 'openai';
import { FakeVllm } from '../fakes/fake-vllm';
import { startTestApp, waitFor, type TestApp } from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const OTHER = 'other-model';
const CHAT = '/v1/chat/completions';
/** Deadline for what normally shows at once: only a failing test waits this long. */
const WAIT_MS = 30_000;

/** Sum of the samples of `name` whose labels include `labels` (0 when there is none). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) sum += Number(match[3]);
  }
  return sum;
}

describe('GET /metrics', () => {
  let upstream: FakeVllm;
  let sick: FakeVllm;
  let hunze: TestApp;
  let key: string;
  let client: OpenAI;
  const scrape = async () => {
    const res = await fetch(`${hunze.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return res.text();
  };
  const openStreams = async () => sample(await scrape(), 'hunze_open_streams');
  const ours = { model: MODEL, upstream: 'vllm-a' };

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: MODEL });
    sick = await FakeVllm.start({ modelName: OTHER });
    sick.healthy = false;
    hunze = await startTestApp({
      upstreams: [
        { id: 'vllm-a', baseUrl: upstream.baseUrl },
        { id: 'vllm-b', baseUrl: sick.baseUrl, healthCheck: { intervalSeconds: 1, path: '/health' } },
      ],
      models: [
        { id: MODEL, aliases: ['qwen'], upstreams: ['vllm-a'] },
        { id: OTHER, upstreams: ['vllm-b'] },
      ],
    });
    key = (await hunze.createKey({ name: 'metrics-test', account: 'team-m' })).key;
    client = new OpenAI({ apiKey: key, baseURL: hunze.baseURL, maxRetries: 0 });
  });
  afterEach(() => upstream.reset());
  afterAll(async () => {
    await hunze?.close();
    await upstream?.close();
    await sick?.close();
  });

  it("counts a non-stream and a streamed request with the upstream's token counts", async () => {
    const answer = await client.chat.completions.create({
      model: 'qwen',
      messages: [{ role: 'user', content: 'one two three' }],
    });
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'four five six seven' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let streamed: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) streamed = chunk.usage ?? streamed;
    const route = { endpoint: CHAT, ...ours };
    // The record is observed as the response ends; wait for both (bounded), then check exact counts.
    await waitFor(
      async () => sample(await scrape(), 'hunze_requests_total', { ...route, status: '200' }) >= 2,
      WAIT_MS,
    );
    const text = await scrape();
    expect(sample(text, 'hunze_requests_total', { ...route, status: '200' })).toBe(2);
    expect(sample(text, 'hunze_tokens_total', { ...ours, type: 'prompt' })).toBe(
      answer.usage!.prompt_tokens + streamed!.prompt_tokens,
    );
    expect(sample(text, 'hunze_tokens_total', { ...ours, type: 'completion' })).toBe(
      answer.usage!.completion_tokens + streamed!.completion_tokens,
    );
    expect(answer.usage!.completion_tokens).toBeGreaterThan(0);
    expect(sample(text, 'hunze_request_duration_seconds_count', route)).toBe(2);
    expect(sample(text, 'hunze_request_duration_seconds_bucket', { ...route, le: '+Inf' })).toBe(2);
    expect(sample(text, 'hunze_request_duration_seconds_sum', route)).toBeGreaterThan(0);
    expect(sample(text, 'hunze_time_to_first_token_seconds_count', ours)).toBe(1); // the stream only
    expect(sample(text, 'hunze_request_errors_total')).toBe(0);
    expect(text).toMatch(/^# TYPE hunze_request_duration_seconds histogram$/m);
    expect(text).toMatch(/^hunze_process_resident_memory_bytes \d+/m);
    expect(text).not.toContain(key);
  });

  it('counts errors by catalogue code, and never makes a label of a requested model name', async () => {
    const requested = 'team-secret-model~x';
    await expect(
      client.chat.completions.create({ model: requested, messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ status: 404 });
    upstream.mode = 'plain-text-500';
    await expect(
      client.chat.completions.create({ model: 'qwen', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ status: 502 });
    const errors = (text: string, model: string, code: string) =>
      sample(text, 'hunze_request_errors_total', { endpoint: CHAT, model, code });
    await waitFor(async () => errors(await scrape(), MODEL, 'upstream_error') >= 1, WAIT_MS);
    const text = await scrape();
    expect(errors(text, MODEL, 'upstream_error')).toBe(1);
    expect(errors(text, 'unknown', 'model_not_found')).toBe(1);
    expect(
      sample(text, 'hunze_requests_total', {
        endpoint: CHAT,
        model: 'unknown',
        upstream: 'none',
        status: '404',
      }),
    ).toBe(1);
    expect(sample(text, 'hunze_requests_total', { endpoint: CHAT, ...ours, status: '502' })).toBe(1);
    expect(text).not.toContain('team-secret-model');
  });

  it('shows a slow stream as open while it runs, and 0 once it completed', async () => {
    upstream.chunkDelayMs = 150;
    const stream = await client.chat.completions.create({
      model: 'qwen',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let count = 0;
    let seenOpen = false;
    for await (const chunk of stream) {
      void chunk;
      count++;
      if (seenOpen) continue;
      const open = await openStreams();
      // Only a scrape the upstream's stream outlived surely ran while Hunze's stream was open (a stalled
      // machine may reach the end first; then the next chunk's scrape is tried).
      if (upstream.inFlight !== 1) continue;
      expect(open).toBe(1);
      seenOpen = true;
    }
    expect(seenOpen).toBe(true);
    expect(count).toBeGreaterThan(3);
    await waitFor(async () => (await openStreams()) === 0, WAIT_MS);
  });

  it('closes the open stream once when the client aborts, and when the upstream resets mid-stream', async () => {
    // Chunks far apart: the stream is surely still running when it is scraped and aborted.
    upstream.chunkDelayMs = 10_000;
    const aborted = await client.chat.completions.create({
      model: 'qwen',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const chunks = aborted[Symbol.asyncIterator]();
    await chunks.next();
    expect(await openStreams()).toBe(1);
    aborted.controller.abort();
    // The abort reached the upstream: Hunze's response closed (499 observed) and the relay with it.
    await waitFor(async () => upstream.aborted.length >= 1, WAIT_MS);
    expect(upstream.aborted).toHaveLength(1);
    expect(await openStreams()).toBe(0);

    upstream.chunkDelayMs = 50;
    upstream.mode = 'reset-mid-stream';
    const reset = await client.chat.completions.create({
      model: 'qwen',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    await expect(
      (async () => {
        for await (const chunk of reset) void chunk;
      })(),
    ).rejects.toThrow();
    await waitFor(
      async () =>
        sample(await scrape(), 'hunze_request_errors_total', {
          endpoint: CHAT,
          model: MODEL,
          code: 'upstream_connection_failed',
        }) >= 1,
      WAIT_MS,
    );
    // Not below zero: every path closed its stream exactly once. The relay's and the response's 'close'
    // follow the end the error was observed at within ticks, before this scrape is even read.
    expect(await openStreams()).toBe(0);
    expect(sample(await scrape(), 'hunze_requests_total', { endpoint: CHAT, ...ours, status: '499' })).toBe(
      1,
    );
  });

  it('reports upstream health from the probes', async () => {
    await waitFor(
      async () => (await scrape()).includes('hunze_upstream_up{upstream="vllm-b"} 0'),
      WAIT_MS,
      100,
    );
    expect(await scrape()).toContain('hunze_upstream_up{upstream="vllm-a"} 1');
    sick.healthy = true;
    await waitFor(
      async () => (await scrape()).includes('hunze_upstream_up{upstream="vllm-b"} 1'),
      WAIT_MS,
      100,
    );
  });
});
