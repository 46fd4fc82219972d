// Bad input to POST /v1/chat/completions: every case gets an OpenAI-shaped 4xx naming the field at fault,
// a request id, and no trace of the offending content in the answer or in the metadata log.
import OpenAI from 'openai';
import { FakeVllm } from '../fakes/fake-vllm';
import {
  canary,
  expectNoEcho,
  GENERATED_REQUEST_ID,
  openAiErrorOf,
  send,
  type RawResponse,
} from '../helpers/raw-http';
import { ADMIN_KEY, startTestApp, waitFor, type TestApp } from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const EMBEDDING_MODEL = 'BAAI/bge-m3';
const JSON_TYPE = 'application/json';

const chat = (extra: Record<string, unknown>) =>
  JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], ...extra });
const userSays = (text: string) => [{ role: 'user' as const, content: text }];
/** Arrays nested `depth` deep: past what class-transformer and JSON.stringify can recurse through. */
const deeply = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

interface Case {
  name: string;
  /** The request body, built around this case's canary. */
  body?: (c: string) => string | Buffer;
  contentType?: string;
  method?: string;
  path?: (c: string) => string;
  status: number;
  code: string;
  /** Expected `param`; for invalid_request_error the message must name it too. */
  param?: string | null;
  /** The fixed reason an invalid_request_error message gives. */
  reason?: string;
  /** Rejected by the router before any hook runs, so no metadata record is written. */
  unrouted?: boolean;
}

const notJson = (name: string, body: (c: string) => string | Buffer): Case => ({
  name,
  body,
  status: 400,
  code: 'invalid_json',
  param: null,
});
/** A body that parses but breaks a rule: 400 invalid_request_error naming the field and why. */
const invalid = (name: string, param: string, reason: string, body: (c: string) => string): Case => ({
  name,
  body,
  status: 400,
  code: 'invalid_request_error',
  param,
  reason,
});

const CASES: Case[] = [
  notJson('truncated JSON', (c) => `{"model":"${c}","messages":[{"role":"us`),
  notJson('trailing garbage', (c) => `${chat({})} ${c}`),
  notJson('a missing value', (c) => `{"user":"${c}","model": }`),
  notJson('single quotes', (c) => `{'model':'${c}'}`),
  notJson('bytes that are not UTF-8', (c) =>
    Buffer.concat([Buffer.from(`{"model":"${c}",`), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('}')]),
  ),
  notJson('an empty JSON body', () => ''),
  invalid('a JSON array', 'body', 'must be a JSON object', (c) => JSON.stringify([c])),
  invalid('a JSON string', 'body', 'must be a JSON object', (c) => JSON.stringify(c)),
  invalid('a JSON number', 'body', 'must be a JSON object', () => '9876543210123'),
  invalid('JSON null', 'body', 'must be a JSON object', () => 'null'),
  invalid('nesting thousands deep', 'body', 'is nested too deeply', (c) =>
    chat({ user: c }).replace(/}$/, `,"metadata":${deeply(20_000)}}`),
  ),
  invalid('a missing model', 'model', 'is required', (c) => JSON.stringify({ messages: userSays(c) })),
  invalid('a model that is not a string', 'model', 'must be a string', (c) => chat({ model: [c] })),
  invalid('missing messages', 'messages', 'is required', (c) => JSON.stringify({ model: MODEL, user: c })),
  invalid('messages not an array', 'messages', 'must be an array', (c) => chat({ messages: c })),
  invalid('empty messages', 'messages', 'has too few items', (c) => chat({ messages: [], user: c })),
  invalid('a message that is a string', 'messages[0]', 'must be an object', (c) => chat({ messages: [c] })),
  invalid('a message with an unknown role', 'messages[1].role', 'is not one of the accepted values', (c) =>
    chat({ messages: [...userSays('a'), { role: c, content: 'b' }] }),
  ),
  invalid(
    'content that is a number',
    'messages[0].content',
    'must be a string, null or an array of content parts',
    (c) => chat({ messages: [{ role: 'user', content: 4242424242 }], user: c }),
  ),
  invalid('temperature "hot"', 'temperature', 'must be a number', (c) => chat({ temperature: `hot ${c}` })),
  invalid('temperature 5', 'temperature', 'is above the maximum', (c) => chat({ temperature: 5, user: c })),
  invalid('n 0', 'n', 'is below the minimum', (c) => chat({ n: 0, user: c })),
  invalid('stream "yes"', 'stream', 'must be a boolean', (c) => chat({ stream: `yes ${c}` })),
  invalid('stop with 5 items', 'stop', 'must be a string or a short array of strings', (c) =>
    chat({ stop: [c, 'b', 'c', 'd', 'e'] }),
  ),
  {
    name: '1,001 messages',
    body: (c) => chat({ messages: Array.from({ length: 1001 }, (_, i) => userSays(`${c} ${i}`)[0]) }),
    status: 400,
    code: 'too_many_messages',
    param: 'messages',
  },
  {
    name: 'an unknown model',
    body: (c) => chat({ model: c }),
    status: 404,
    code: 'model_not_found',
    param: 'model',
  },
  {
    name: 'an embedding model',
    body: (c) => chat({ model: EMBEDDING_MODEL, messages: userSays(c) }),
    status: 400,
    code: 'wrong_model_kind',
    param: 'model',
  },
  {
    name: 'a text/plain body',
    body: (c) => chat({ user: c }),
    contentType: 'text/plain',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'a form body',
    body: (c) => `model=${c}`,
    contentType: 'application/x-www-form-urlencoded',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'an unknown route',
    path: (c) => `/v1/${c}/completions`,
    body: () => chat({}),
    status: 404,
    code: 'not_found',
  },
  {
    name: 'GET on a POST route',
    method: 'GET',
    path: (c) => `/v1/chat/completions?user=${c}`,
    status: 404,
    code: 'not_found',
  },
  {
    name: 'a URL that is not valid percent-encoding',
    method: 'GET',
    path: (c) => `/v1/models/${c}%E0%A4%A`,
    status: 400,
    code: 'invalid_request_error',
    param: 'url',
    unrouted: true,
  },
];

describe('bad input to POST /v1/chat/completions', () => {
  let upstream: FakeVllm;
  let hunze: TestApp;
  let key: string;

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: MODEL });
    hunze = await startTestApp({
      upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
      models: [
        { id: MODEL, aliases: ['qwen'], upstreams: ['vllm-a'] },
        { id: EMBEDDING_MODEL, kind: 'embedding', upstreams: ['vllm-a'] },
      ],
    });
    ({ key } = await hunze.createKey({ name: 'bad-input' }));
  });

  afterEach(() => upstream.reset());
  afterAll(async () => {
    await hunze.close();
    await upstream.close();
  });

  it.each(CASES.map((c) => [c.name, c] as const))('answers %s with a clean 4xx', async (_name, tc) => {
    const secret = canary('bad-input');
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (tc.body) headers['content-type'] = tc.contentType ?? JSON_TYPE;
    const res = await send(`${hunze.url}${tc.path?.(secret) ?? '/v1/chat/completions'}`, {
      method: tc.method ?? 'POST',
      headers,
      body: tc.body?.(secret),
    });
    await expectCleanError(hunze, res, secret, tc);
    expect(upstream.requests).toHaveLength(0); // nothing bad reached the model backend
  });

  it('accepts exactly 1,000 messages and sends them all upstream', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: hunze.baseURL, maxRetries: 0 });
    const messages = Array.from({ length: 1000 }, (_, i) => ({ role: 'user' as const, content: `m${i}` }));
    const completion = await client.chat.completions.create({ model: 'qwen', messages });
    expect(completion.choices[0]?.message.content).toBeTruthy();
    expect(upstream.requests.at(-1)!.body.messages).toHaveLength(1000);
  });

  it('keeps serving normal requests after all of the above', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: hunze.baseURL, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: userSays('still there?'),
    });
    expect(completion.choices[0]?.message.content).toBe('Hello from the fake vLLM server.');
    expect((await send(`${hunze.url}/healthz`, { method: 'GET' })).status).toBe(200);
    expect(hunze.logLines.filter((l) => l.includes('"level":50'))).toEqual([]); // no unhandled error
  });
});

/** Admin input that reaches the database or a date parser: a 4xx naming the parameter, never a 500. */
interface AdminCase {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: (c: string) => string;
  body?: (c: string) => unknown;
  status: number;
  code: string;
  param: string | null;
  reason?: string;
}

const NO_CONTROLS = 'must not contain control characters or unpaired surrogates';
const DATE_RANGE = 'must be an ISO 8601 date or date-time in the years 1970 to 9999';
const badText = (
  name: string,
  param: string,
  method: AdminCase['method'],
  path: string,
  body: (c: string) => unknown,
): AdminCase => ({
  name,
  method,
  path: () => path,
  body,
  status: 400,
  code: 'invalid_request_error',
  param,
  reason: NO_CONTROLS,
});
const badDate = (query: string, param: string, route = 'audit'): AdminCase => ({
  name: `GET ${route}?${query}`,
  method: 'GET',
  path: () => `/admin/v1/${route}?${query}`,
  status: 400,
  code: 'invalid_request_error',
  param,
  reason: DATE_RANGE,
});
const unknownParam = (route: string, query: (c: string) => string): AdminCase => ({
  name: `GET ${route}?${query('<name>')}`,
  method: 'GET',
  path: (c) => `/admin/v1/${route}?${query(c)}`,
  status: 400,
  code: 'unknown_parameter',
  param: 'query',
});

const ADMIN_CASES: AdminCase[] = [
  badText('a NUL in a key name', 'name', 'POST', '/admin/v1/keys', (c) => ({ name: `${c}\u0000b` })),
  badText('a NUL in a key account', 'account', 'POST', '/admin/v1/keys', (c) => ({
    name: c,
    account: `a\u0000${c}`,
  })),
  badText('an unpaired surrogate in a key name', 'name', 'POST', '/admin/v1/keys', (c) => ({
    name: `${c}\ud800`,
  })),
  badText('an unpaired surrogate in a key account', 'account', 'POST', '/admin/v1/keys', (c) => ({
    name: c,
    account: `\udc00${c}`,
  })),
  badText('an escape character in a key name', 'name', 'POST', '/admin/v1/keys', (c) => ({
    name: `${c}\u001b[2J`,
  })),
  {
    name: 'a NUL in an account name in the path',
    method: 'PUT',
    path: (c) => `/admin/v1/accounts/${c}%00b`,
    body: () => ({ rpm: 10 }),
    status: 400,
    code: 'invalid_request_error',
    param: 'name',
    reason: NO_CONTROLS,
  },
  {
    name: 'a control character in an account name in the path',
    method: 'PUT',
    path: (c) => `/admin/v1/accounts/${c}%01`,
    body: () => ({}),
    status: 400,
    code: 'invalid_request_error',
    param: 'name',
    reason: NO_CONTROLS,
  },
  {
    name: 'an ISO week as a key expiry',
    method: 'POST',
    path: () => '/admin/v1/keys',
    body: (c) => ({ name: c, expires_at: '2099-W05' }),
    status: 400,
    code: 'invalid_request_error',
    param: 'expires_at',
    reason: DATE_RANGE,
  },
  {
    name: 'a basic-format key expiry',
    method: 'POST',
    path: () => '/admin/v1/keys',
    body: (c) => ({ name: c, expires_at: '20990101' }),
    status: 400,
    code: 'invalid_request_error',
    param: 'expires_at',
    reason: DATE_RANGE,
  },
  {
    name: 'a key id of 36 dashes',
    method: 'DELETE',
    path: () => `/admin/v1/keys/${'-'.repeat(36)}`,
    status: 404,
    code: 'not_found',
    param: null,
  },
  {
    name: 'a key id of hex digits in the wrong groups',
    method: 'DELETE',
    path: () => `/admin/v1/keys/${'a'.repeat(35)}-`,
    status: 404,
    code: 'not_found',
    param: null,
  },
  badDate('from=0000-01-01T00:00:00Z', 'from'),
  badDate('to=0000-01-01T00:00:00Z', 'to'),
  badDate('from=%2B275760-09-13T00:00:00Z', 'from'),
  badDate('to=-271821-04-20T00:00:00Z', 'to'),
  badDate('from=1969-12-31T23:59:59Z', 'from'),
  badDate('from=Dec%207%202026', 'from'),
  badDate('from=1969-12-31', 'from', 'usage'),
  unknownParam('usage', () => '__proto__=1'),
  unknownParam('usage', (c) => `${c}=1`),
  unknownParam('audit', () => '__proto__=1'),
  unknownParam('audit', (c) => `limit=5&${c}=1`),
  unknownParam('reports/dpa', (c) => `format=md&${c}=1`),
];

describe('bad input to the admin API', () => {
  let upstream: FakeVllm;
  let hunze: TestApp;

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: MODEL });
    hunze = await startTestApp({
      upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
      models: [{ id: MODEL, upstreams: ['vllm-a'] }],
    });
  });
  afterAll(async () => {
    await hunze.close();
    await upstream.close();
  });

  it.each(ADMIN_CASES.map((c) => [c.name, c] as const))('answers %s with a clean 4xx', async (_name, tc) => {
    const secret = canary('admin-input');
    const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}` };
    if (tc.body) headers['content-type'] = JSON_TYPE;
    const res = await send(`${hunze.url}${tc.path(secret)}`, {
      method: tc.method,
      headers,
      body: tc.body ? JSON.stringify(tc.body(secret)) : undefined,
    });
    await expectCleanError(hunze, res, secret, tc);
  });

  it('still accepts the edges of the range and the documented parameters', async () => {
    const ok = async (path: string, method = 'GET', body?: unknown) => {
      const res = await send(`${hunze.url}/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': JSON_TYPE },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expect({ path, status: res.status, body: res.text.slice(0, 200) }).toMatchObject({
        status: method === 'POST' ? 201 : 200,
      });
    };
    await ok(
      '/audit?from=1970-01-01T00:00:00Z&to=9999-12-31T23:59:59.999Z&limit=5&after=0&action=key.created',
    );
    await ok('/usage?from=9999-01-01&to=9999-12-31T00:00:00Z&group_by=day&format=json');
    await ok('/reports/tom?format=json');
    await ok('/keys', 'POST', {
      name: 'Ünïcødé 😀 team',
      account: 'émoji 😀',
      expires_at: '9999-12-31T23:59:59Z',
    });
    await ok('/accounts/%C3%A9moji%20%F0%9F%98%80', 'PUT', { rpm: 5 });
  });
});

/** Its own app, after the one above is closed: typeorm-pglite shares one PGlite instance per process. */
describe('a body over server.bodyLimitMb', () => {
  let upstream: FakeVllm;
  let small: TestApp;

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: MODEL });
    small = await startTestApp({
      upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
      models: [{ id: MODEL, upstreams: ['vllm-a'] }],
      bodyLimitMb: 1,
    });
  });

  afterAll(async () => {
    await small.close();
    await upstream.close();
  });

  it('is answered 413 request_too_large', async () => {
    const { key } = await small.createKey();
    const secret = canary('too-large');
    const content = `${secret} ${'x'.repeat(1_500_000)}`; // ~1.5 MB
    const res = await send(`${small.url}/v1/chat/completions`, {
      headers: { authorization: `Bearer ${key}`, 'content-type': JSON_TYPE },
      body: chat({ messages: userSays(content) }),
    });
    await expectCleanError(small, res, secret, { status: 413, code: 'request_too_large' });
    expect(openAiErrorOf(res).message).toBe('The request body is larger than the limit of 1 MB.');
    expect(upstream.requests).toHaveLength(0);
  });

  it('leaves the limit for bodies just under it', async () => {
    const { key } = await small.createKey();
    const client = new OpenAI({ apiKey: key, baseURL: small.baseURL, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: userSays('y'.repeat(900_000)),
    });
    expect(completion.choices).toHaveLength(1);
  });
});

async function expectCleanError(
  app: TestApp,
  res: RawResponse,
  secret: string,
  tc: Pick<Case, 'status' | 'code' | 'param' | 'reason' | 'unrouted'>,
): Promise<void> {
  expect({ status: res.status, body: res.text.slice(0, 300) }).toMatchObject({ status: tc.status });
  const error = openAiErrorOf(res);
  expect(error.code).toBe(tc.code);
  expect(error.type).toBe('invalid_request_error');
  if (tc.param !== undefined) expect(error.param).toBe(tc.param);
  if (tc.code === 'invalid_request_error') expect(error.message).toContain(`for ${error.param}:`);
  if (tc.reason) expect(error.message).toBe(`Invalid value for ${tc.param}: ${tc.reason}.`);
  expect(res.headers['x-should-retry']).toBe('false');
  const requestId = res.headers['x-request-id'];
  expect(requestId).toMatch(GENERATED_REQUEST_ID);
  expectNoEcho(res, secret);
  // The metadata record is written when the response closes; wait for it before searching the log.
  if (!tc.unrouted) await waitFor(async () => app.logLines.some((l) => l.includes(requestId!)), 30_000);
  expect(app.logLines.join('\n')).not.toContain(secret);
}
