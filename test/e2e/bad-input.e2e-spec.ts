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
import { startTestApp, waitFor, type TestApp } from '../helpers/test-app';

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
