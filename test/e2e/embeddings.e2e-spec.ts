// Embeddings through a real Hunze, with the official openai SDK as the client and fake TEI 1.9 upstreams:
// both encodings, dimensions, token-id inputs, batch splitting by the learned max_client_batch_size,
// usage metering, upstream errors, bad input, a wrong-kind model and failover between two upstreams.
import OpenAI from 'openai';
import { FakeTei } from '../fakes/fake-tei';
import { startHangingServer, until } from '../helpers/raw-http';
import { startTestApp, type TestApp } from '../helpers/test-app';

const MODEL = 'BAAI/bge-m3';
const SMALL_BATCH_MODEL = 'intfloat/multilingual-e5-small';
const FAILOVER_MODEL = 'BAAI/bge-m3-ha';
const CHAT_MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const texts = (n: number, prefix = 'text') => Array.from({ length: n }, (_, i) => `${prefix} ${i}`);

describe('POST /v1/embeddings', () => {
  let tei: FakeTei;
  let small: FakeTei;
  let broken: FakeTei;
  let hunze: TestApp;
  let client: OpenAI;
  let key: string;
  /** Metadata records logged before the current test: its own come after. */
  let recordsBefore = 0;

  beforeAll(async () => {
    tei = await FakeTei.start({ modelName: MODEL, apiKey: 'tei-secret' });
    small = await FakeTei.start({ modelName: SMALL_BATCH_MODEL, maxClientBatchSize: 10, dimensions: 384 });
    broken = await FakeTei.start({ modelName: MODEL });
    hunze = await startTestApp({
      upstreams: [
        { id: 'tei-a', baseUrl: tei.baseUrl, apiKey: 'tei-secret' },
        { id: 'tei-small', baseUrl: small.baseUrl },
        { id: 'tei-broken', baseUrl: broken.baseUrl },
      ],
      models: [
        { id: MODEL, aliases: ['bge'], kind: 'embedding', upstreams: ['tei-a'] },
        { id: SMALL_BATCH_MODEL, kind: 'embedding', upstreams: ['tei-small'] },
        // the broken upstream first, so the first batch always meets it
        { id: FAILOVER_MODEL, kind: 'embedding', upstreams: ['tei-broken', 'tei-a'] },
        { id: CHAT_MODEL, kind: 'chat', upstreams: ['tei-a'] },
      ],
    });
    ({ key } = await hunze.createKey({ name: 'embeddings-test' }));
    client = new OpenAI({ apiKey: key, baseURL: hunze.baseURL, maxRetries: 0 });
  });

  beforeEach(() => {
    recordsBefore = requestRecords(hunze).length;
  });
  afterEach(() => {
    tei.reset();
    small.reset();
    broken.reset();
  });
  afterAll(async () => {
    await hunze.close();
    await Promise.all([tei.close(), small.close(), broken.close()]);
  });

  const embedCalls = (fake: FakeTei) => fake.requests.filter((r) => r.path === '/v1/embeddings');
  const post = (body: unknown) =>
    fetch(`${hunze.baseURL}/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('answers the SDK default (base64 on the wire, decoded by the SDK) through an alias', async () => {
    const input = ['Groningen is a city', 'in the north'];
    const { data: answer, response } = await client.embeddings.create({ model: 'bge', input }).withResponse();
    expect(answer.model).toBe(MODEL);
    expect(answer.data.map((d) => d.index)).toEqual([0, 1]);
    answer.data.forEach((d, i) => expect(d.embedding).toEqual(Array.from(tei.embeddingFor(input[i]!))));
    expect(answer.usage).toEqual({ prompt_tokens: 7, total_tokens: 7 });
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    const sent = embedCalls(tei).at(-1)!;
    expect(sent.body).toEqual({ model: MODEL, input, encoding_format: 'base64' });
    expect(sent.headers.authorization).toBe('Bearer tei-secret');
    await expectMetered(hunze, recordsBefore, { model: MODEL, promptTokens: 7, totalTokens: 7 });
  });

  it('returns base64 as little-endian float32 bytes on the wire', async () => {
    const res = await post({ model: MODEL, input: 'bytes please', encoding_format: 'base64' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { embedding: string; object: string }[] };
    const bytes = Buffer.from(body.data[0]!.embedding, 'base64');
    const decoded = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
    expect(decoded).toEqual(Array.from(tei.embeddingFor('bytes please')));
    expect(body.data[0]!.object).toBe('embedding');
  });

  it('answers float for a single string, relayed as one input', async () => {
    const answer = await client.embeddings.create({
      model: MODEL,
      input: 'one text',
      encoding_format: 'float',
    });
    expect(answer.object).toBe('list');
    expect(answer.data).toHaveLength(1);
    expect(answer.data[0]!.embedding).toEqual(Array.from(tei.embeddingFor('one text')));
    expect(embedCalls(tei).at(-1)!.body).toMatchObject({ input: 'one text', encoding_format: 'float' });
    // without encoding_format (raw HTTP, not the SDK) the answer is float, as at OpenAI
    const raw = (await (await post({ model: MODEL, input: 'one text' })).json()) as {
      data: { embedding: unknown }[];
    };
    expect(raw.data[0]!.embedding).toEqual(answer.data[0]!.embedding);
  });

  it('passes dimensions to TEI and its 422 for too many dimensions back as upstream_rejected', async () => {
    const answer = await client.embeddings.create({
      model: MODEL,
      input: ['short', 'vectors'],
      dimensions: 256,
    });
    expect(answer.data[1]!.embedding).toHaveLength(256);
    expect(answer.data[1]!.embedding).toEqual(Array.from(tei.embeddingFor('vectors', 256)));
    expect(embedCalls(tei).at(-1)!.body.dimensions).toBe(256);
    const error = await client.embeddings
      .create({ model: MODEL, input: 'x', dimensions: 4096 })
      .catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect(error).toMatchObject({ status: 400, code: 'upstream_rejected' });
  });

  it('accepts token-id inputs (one list, or a list of lists)', async () => {
    const one = await client.embeddings.create({ model: MODEL, input: [101, 2023, 102] });
    expect(one.data).toHaveLength(1);
    expect(one.data[0]!.embedding).toEqual(Array.from(tei.embeddingForTokens([101, 2023, 102])));
    const many = await client.embeddings.create({ model: MODEL, input: [[1, 2], [3]] });
    expect(many.data[1]!.embedding).toEqual(Array.from(tei.embeddingForTokens([3])));
    expect(many.usage.prompt_tokens).toBe(3);
  });

  it('splits 100 inputs into batches of max_client_batch_size and merges them in order', async () => {
    const input = texts(100);
    const answer = await client.embeddings.create({ model: MODEL, input });
    expect([...tei.batchSizes].sort((a, b) => b - a)).toEqual([32, 32, 32, 4]);
    expect(answer.data).toHaveLength(100);
    answer.data.forEach((d, i) => {
      expect(d.index).toBe(i);
      expect(d.embedding).toEqual(Array.from(tei.embeddingFor(`text ${i}`)));
    });
    expect(answer.usage).toEqual({ prompt_tokens: 200, total_tokens: 200 });
    // every batch carried a contiguous, in-order slice of the inputs
    const sent = embedCalls(tei).map((r) => r.body.input as string[]);
    expect(sent.sort((a, b) => indexOf(a[0]!) - indexOf(b[0]!)).flat()).toEqual(input);
    await expectMetered(hunze, recordsBefore, { model: MODEL, promptTokens: 200, totalTokens: 200 });
    // /info is read once per upstream, not once per request
    await client.embeddings.create({ model: MODEL, input: texts(40) });
    expect(tei.requests.filter((r) => r.path === '/info').length).toBeLessThanOrEqual(1);
  });

  it("learns each upstream's limit from /info and learns it again after a 413", async () => {
    await client.embeddings.create({ model: SMALL_BATCH_MODEL, input: texts(25) });
    expect(small.batchSizes).toEqual([10, 10, 5]);
    small.requests.length = 0;
    small.maxClientBatchSize = 4; // TEI restarted with a smaller --max-client-batch-size
    const error = await client.embeddings
      .create({ model: SMALL_BATCH_MODEL, input: texts(25) })
      .catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect(error).toMatchObject({ status: 400, code: 'upstream_rejected' });
    small.requests.length = 0;
    const answer = await client.embeddings.create({ model: SMALL_BATCH_MODEL, input: texts(25) });
    expect(small.batchSizes).toEqual([4, 4, 4, 4, 4, 4, 1]);
    expect(answer.data[24]!.embedding).toEqual(Array.from(small.embeddingFor('text 24')));
  });

  it.each([
    ['overloaded', 503, 'upstream_overloaded'],
    ['backend-error', 502, 'upstream_error'],
    ['tokenizer-error', 400, 'upstream_rejected'],
  ] as const)('maps TEI %s to %i %s without the upstream text', async (mode, status, code) => {
    tei.mode = mode;
    const canary = `canary-embed-${mode}-${Date.now()}`;
    const error = (await client.embeddings
      .create({ model: MODEL, input: [canary, ...texts(40)] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.status).toBe(status);
    expect(error.code).toBe(code);
    if (status === 503) expect(error.headers?.get('retry-after')).toBe('1');
    expect(error.headers?.get('x-should-retry')).toBe(status >= 500 ? 'true' : 'false');
    expect(JSON.stringify(error.error)).not.toContain(canary);
    if (mode === 'tokenizer-error') expect(tei.requests.length).toBeGreaterThan(0); // the echo was sent
    await expectMetered(hunze, recordsBefore, { errorCode: code });
    expect(hunze.logLines.join('\n')).not.toContain(canary);
  });

  it.each([
    ['input', { model: MODEL, user: 'CANARY' }],
    ['input', { model: MODEL, input: [] }],
    ['input', { model: MODEL, input: '' }],
    ['input', { model: MODEL, input: Array.from({ length: 2049 }, () => 'CANARY') }],
    ['input[1]', { model: MODEL, input: ['CANARY', 5] }],
    ['input[1]', { model: MODEL, input: ['CANARY', ''] }],
    ['input[1]', { model: MODEL, input: [1, -2] }],
    ['input[1]', { model: MODEL, input: [[1], 'CANARY'] }],
    ['input[1][0]', { model: MODEL, input: [[1], [2.5]] }],
    ['input', { model: MODEL, input: { text: 'CANARY' } }],
    ['encoding_format', { model: MODEL, input: 'CANARY', encoding_format: 'CANARY' }],
    ['dimensions', { model: MODEL, input: 'CANARY', dimensions: 0 }],
    ['dimensions', { model: MODEL, input: 'CANARY', dimensions: 1.5 }],
    ['user', { model: MODEL, input: 'CANARY', user: 7 }],
    ['model', { input: 'CANARY' }],
  ])('rejects bad body #%# naming %s, never its content', async (param, template) => {
    const canary = `canary-bad-${Date.now()}-${Math.random()}`;
    const body = JSON.parse(JSON.stringify(template).replaceAll('CANARY', canary)) as unknown;
    const res = await post(body);
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ error: { param, code: 'invalid_request_error' } });
    expect((JSON.parse(text) as { error: { message: string } }).error.message).toContain(param);
    expect(text).not.toContain(canary);
    expect(tei.requests.filter((r) => r.path === '/v1/embeddings')).toHaveLength(0);
    await expectMetered(hunze, recordsBefore, { errorCode: 'invalid_request_error' });
    expect(hunze.logLines.join('\n')).not.toContain(canary);
  });

  it('accepts 2048 inputs', async () => {
    const answer = await client.embeddings.create({ model: MODEL, input: texts(2048), dimensions: 8 });
    expect(answer.data).toHaveLength(2048);
    expect(answer.data[2047]!.embedding).toEqual(Array.from(tei.embeddingFor('text 2047', 8)));
    expect(tei.batchSizes).toHaveLength(64);
  });

  it('refuses a chat model with 400 wrong_model_kind', async () => {
    const error = (await client.embeddings
      .create({ model: CHAT_MODEL, input: 'x' })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(400);
    expect(error.code).toBe('wrong_model_kind');
    expect(error.message).toContain('chat model');
    expect(embedCalls(tei)).toHaveLength(0);
  });

  it('aborts every batch in flight when the client goes away', async () => {
    tei.mode = 'hang';
    // Cancelled by the same signal: its server notices the client leaving in what this machine needs right
    // now, and every batch must be aborted upstream within 100 ms on top of that.
    const control = await startHangingServer();
    try {
      const controller = new AbortController();
      const controlRequest = fetch(control.url, { method: 'POST', signal: controller.signal }).catch(
        () => undefined,
      );
      const pending = client.embeddings
        .create({ model: MODEL, input: texts(70) }, { signal: controller.signal })
        .catch(() => undefined);
      await until(() => control.arrived === 1 && embedCalls(tei).length >= 3);
      expect(embedCalls(tei)).toHaveLength(3);
      const abortedAt = Date.now();
      controller.abort();
      await Promise.all([pending, controlRequest]);
      // (run alone, the first /info lookup hangs too and is given up on: it is not one of these)
      const batchesAborted = () => tei.aborted.filter((a) => a.path === '/v1/embeddings');
      await until(() => batchesAborted().length >= 3 && control.closedAt.length === 1);
      expect(batchesAborted()).toHaveLength(3);
      const controlMs = control.closedAt[0]! - abortedAt;
      for (const aborted of batchesAborted()) expect(aborted.at - abortedAt).toBeLessThan(controlMs + 100);
    } finally {
      await control.close();
    }
  });

  it('fails each batch over to the healthy upstream when the other resets connections', async () => {
    broken.mode = 'reset';
    for (let round = 0; round < 4; round++) {
      const input = texts(70, `round${round}`);
      const answer = await client.embeddings.create({ model: FAILOVER_MODEL, input });
      expect(answer.model).toBe(FAILOVER_MODEL);
      answer.data.forEach((d, i) => expect(d.embedding).toEqual(Array.from(tei.embeddingFor(input[i]!))));
    }
    expect(embedCalls(broken).length).toBeGreaterThan(0); // it was tried...
    expect(tei.batchSizes.reduce((a, b) => a + b, 0)).toBe(280); // ...and tei-a answered everything
    const records = requestRecords(hunze).filter((r) => r.model === FAILOVER_MODEL);
    expect(records.some((r) => typeof r.failovers === 'number' && r.failovers > 0)).toBe(true);
    expect(records.every((r) => r.status === 200)).toBe(true);
  });
});

function indexOf(text: string): number {
  return Number(text.split(' ')[1]);
}

function requestRecords(hunze: TestApp): Record<string, unknown>[] {
  return hunze.logLines
    .filter((l) => l.includes('"evt":"request"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.endpoint === '/v1/embeddings');
}

/** The last embeddings request's metadata record reached the log with the expected values. */
async function expectMetered(
  hunze: TestApp,
  recordsBefore: number,
  expected: { model?: string; promptTokens?: number; totalTokens?: number; errorCode?: string },
): Promise<void> {
  // the record is written once the response has been sent, which can be just after the client saw it
  await until(() => requestRecords(hunze).length > recordsBefore);
  const ours = requestRecords(hunze).slice(recordsBefore);
  expect(ours.at(-1)).toMatchObject(expected);
}
