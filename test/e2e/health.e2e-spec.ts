// /healthz and /readyz, and the x-request-id every response carries: generated, or echoed when a load
// balancer sent a well-formed one.
import { connect } from 'node:net';
import OpenAI from 'openai';
import { FakeVllm } from '../fakes/fake-vllm';
import { GENERATED_REQUEST_ID, openAiErrorOf, send } from '../helpers/raw-http';
import { startTestApp, waitFor, type TestApp } from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';

/**
 * A local port with nothing listening: connections to it are refused at once. A port freed after listen(0)
 * could be taken by anyone in the meantime; 9 (discard) is below the ephemeral range, so no listen(0) here
 * ever gets it. Checked, so a machine that does serve it fails here and not obscurely later.
 */
async function refusingPort(): Promise<number> {
  const port = 9;
  const error = await new Promise<unknown>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(undefined)));
    socket.once('error', resolve);
  });
  expect(error).toMatchObject({ code: 'ECONNREFUSED' });
  return port;
}

describe('health endpoints and request ids', () => {
  let upstream: FakeVllm;
  let hunze: TestApp;
  let key: string;

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: MODEL });
    hunze = await startTestApp({
      upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
      models: [{ id: MODEL, upstreams: ['vllm-a'] }],
    });
    ({ key } = await hunze.createKey({ name: 'health' }));
  });

  afterAll(async () => {
    await hunze.close();
    await upstream.close();
  });

  it('answers /healthz 200 without a key', async () => {
    const res = await send(`${hunze.url}/healthz`, { method: 'GET' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ status: 'ok' });
    expect(res.headers['x-request-id']).toMatch(GENERATED_REQUEST_ID);
  });

  it('answers /readyz 200 with the database and a reachable upstream', async () => {
    const res = await send(`${hunze.url}/readyz`, { method: 'GET' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({
      status: 'ok',
      checks: { database: true, upstreams: true, rateLimits: 'local' },
    });
    expect(res.headers['x-request-id']).toMatch(GENERATED_REQUEST_ID);
  });

  it.each([
    ['/healthz', 'GET', 200, {}],
    ['/readyz', 'GET', 200, {}],
    ['/v1/models', 'GET', 401, {}],
    ['/v1/chat/completions', 'POST', 401, { 'content-type': 'application/json' }],
    ['/no/such/route', 'GET', 404, {}],
    ['/admin/v1/keys', 'GET', 403, 'user key'],
  ] as const)('puts x-request-id on %s (%s, %i)', async (path, method, status, extra) => {
    const headers: Record<string, string> =
      extra === 'user key' ? { authorization: `Bearer ${key}` } : { ...extra };
    const body = method === 'POST' ? '{}' : undefined;
    const res = await send(`${hunze.url}${path}`, { method, headers, body });
    expect(`${res.status} ${res.text}`).toMatch(new RegExp(`^${status} `));
    if (status >= 400) openAiErrorOf(res);
    expect(res.headers['x-request-id']).toMatch(GENERATED_REQUEST_ID);
  });

  it('puts x-request-id on successful API answers, and a fresh one on each', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: hunze.baseURL, maxRetries: 0 });
    const first = await client.models.list().withResponse();
    const second = await client.models.list().withResponse();
    expect(first.response.headers.get('x-request-id')).toMatch(GENERATED_REQUEST_ID);
    expect(second.response.headers.get('x-request-id')).not.toBe(first.response.headers.get('x-request-id'));
  });

  it.each([
    ['a HAProxy-style id', 'a1b2c3d4-0001:gro.lb-1'],
    ['an id of the maximum 128 characters', 'x'.repeat(128)],
  ])('echoes a valid inbound x-request-id: %s', async (_what, inbound) => {
    for (const path of ['/healthz', '/v1/models']) {
      const res = await send(`${hunze.url}${path}`, { method: 'GET', headers: { 'x-request-id': inbound } });
      expect(res.headers['x-request-id']).toBe(inbound);
    }
  });

  it('passes the inbound request id on to the upstream', async () => {
    const client = new OpenAI({
      apiKey: key,
      baseURL: hunze.baseURL,
      maxRetries: 0,
      defaultHeaders: { 'x-request-id': 'lb-42' },
    });
    const { response } = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(response.headers.get('x-request-id')).toBe('lb-42');
    expect(upstream.requests.at(-1)!.headers['x-request-id']).toBe('lb-42');
  });

  it.each([
    ['too long', 'x'.repeat(129)],
    ['with spaces', 'two words'],
    ['with markup', '<script>alert(1)</script>'],
    ['with quotes and braces', '{"evil":"id"}'],
    ['empty', ''],
  ])('replaces an inbound x-request-id that is %s', async (_what, inbound) => {
    const ids: string[] = [];
    for (const path of ['/healthz', '/v1/models', '/no/such/route']) {
      const res = await send(`${hunze.url}${path}`, { method: 'GET', headers: { 'x-request-id': inbound } });
      expect(res.headers['x-request-id']).toMatch(GENERATED_REQUEST_ID);
      ids.push(res.headers['x-request-id']!);
    }
    // The three requests' log lines are in (by the ids given instead): only then is absence meaningful.
    await waitFor(async () => ids.every((id) => hunze.logLines.some((l) => l.includes(id))), 30_000);
    if (inbound) expect(hunze.logLines.join('\n')).not.toContain(inbound);
  });
});

/**
 * Its own app, started after the one above is closed: typeorm-pglite keeps one PGlite instance per process,
 * so two apps alive at once would share (and on close, shut) one embedded database.
 */
describe('/readyz when the only upstream refuses connections', () => {
  it('answers 503 with its checks once the upstream has refused a connection', async () => {
    const down = await startTestApp({
      upstreams: [
        {
          id: 'refusing',
          baseUrl: `http://127.0.0.1:${await refusingPort()}/v1`,
          circuitBreaker: { failures: 1, openSeconds: 60 },
        },
      ],
      models: [{ id: MODEL, upstreams: ['refusing'] }],
    });
    try {
      // Nothing has failed yet: no probes run in tests, so the upstream counts as healthy.
      expect((await send(`${down.url}/readyz`, { method: 'GET' })).status).toBe(200);
      const client = new OpenAI({
        apiKey: (await down.createKey()).key,
        baseURL: down.baseURL,
        maxRetries: 0,
      });
      const error = (await client.chat.completions
        .create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(error.status).toBe(503);
      const res = await send(`${down.url}/readyz`, { method: 'GET' });
      expect(res.status).toBe(503);
      expect(JSON.parse(res.text)).toEqual({
        status: 'unavailable',
        checks: { database: true, upstreams: false, rateLimits: 'local' },
      });
      expect(res.headers['x-request-id']).toMatch(GENERATED_REQUEST_ID);
      expect((await send(`${down.url}/healthz`, { method: 'GET' })).status).toBe(200); // still live
    } finally {
      await down.close();
    }
  });
});
