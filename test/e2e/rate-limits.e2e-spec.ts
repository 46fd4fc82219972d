// Per-key and per-account limits on the model endpoints: requests per minute, tokens per minute (the fake
// vLLM's own usage counts) and the monthly token quota, in memory on one instance and shared in Redis by two;
// when Redis goes away an instance keeps serving under its local (warm) limits and says so in /readyz and
// /metrics. Every limited response carries OpenAI's x-ratelimit-* headers; refusals are 429s with retry-after.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { createDataSource } from '../../src/database/data-source';
import { FakeVllm } from '../fakes/fake-vllm';
import { startServe, type ServeChild } from '../helpers/cli';
import {
  ADMIN_KEY,
  configYaml,
  freshPostgresDatabase,
  startTestApp,
  usingPostgres,
  waitFor,
  type TestApp,
  type TestAppOptions,
} from '../helpers/test-app';
import { TcpProxy } from '../helpers/tcp-proxy';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const REDIS_URL = 'redis://127.0.0.1:6379';
const describePostgres = usingPostgres() ? describe : describe.skip;
const RATE_HEADERS = ['requests', 'tokens'].flatMap((kind) =>
  ['limit', 'remaining', 'reset'].map((part) => `x-ratelimit-${part}-${kind}`),
);
/** Go-style durations as OpenAI sends them: 12ms, 1s, 1.5s, 6m0s. */
const DURATION = /^(\d+h)?(\d+m)?(\d+(\.\d+)?s|\d+ms)$/;
/** The fake answers `WORDS` one-word pieces to a one-word prompt: 1 + WORDS total tokens per request. */
const WORDS = 99;
const TOKENS_PER_REQUEST = WORDS + 1;

let upstream: FakeVllm;
/** redis.rateLimitSyncMs: 0 = one Redis round trip per request (exact between replicas); default 20. */
const EXACT = 0;
const SYNC_MS = 20;
const appOptions = (redisUrl?: string, rateLimitSyncMs?: number): TestAppOptions => ({
  upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
  models: [{ id: MODEL, aliases: ['qwen'], upstreams: ['vllm-a'] }],
  redisUrl,
  rateLimitSyncMs,
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Answer {
  status: number;
  headers: Headers;
  body: any; // the JSON of whichever answer came back
}

async function chat(on: Pick<TestApp, 'baseURL'>, key: string, model = 'qwen'): Promise<Answer> {
  const res = await fetch(`${on.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

const rateHeaders = (headers: Headers) =>
  Object.fromEntries(RATE_HEADERS.flatMap((h) => (headers.has(h) ? [[h, headers.get(h)]] : [])));

async function setAccountLimits(on: Pick<TestApp, 'url'>, name: string, body: Record<string, number | null>) {
  const res = await fetch(`${on.url}/admin/v1/accounts/${encodeURIComponent(name)}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
}

async function readyz(on: TestApp): Promise<{ status: number; rateLimits: unknown }> {
  const res = await fetch(`${on.url}/readyz`);
  const body = (await res.json()) as { checks: { rateLimits: unknown } };
  return { status: res.status, rateLimits: body.checks.rateLimits };
}

async function metric(on: TestApp, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${on.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Sends chats with `key` until one is refused (at most `max`); returns the answers. */
async function untilRefused(on: TestApp, key: string, max: number): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < max; i++) {
    answers.push(await chat(on, key));
    if (answers.at(-1)!.status !== 200) break;
  }
  return answers;
}

const team = () => `team-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  upstream = await FakeVllm.start({ modelName: MODEL });
});
afterEach(() => upstream.reset());
afterAll(() => upstream.close());

describe.each([
  ['in memory (one instance)', undefined, undefined],
  ['in Redis, one round trip per request', REDIS_URL, EXACT],
  ['in Redis, exchanged every 20 ms', REDIS_URL, SYNC_MS],
])('limits %s', (_, redisUrl, rateLimitSyncMs) => {
  let hunze: TestApp;

  beforeAll(async () => {
    hunze = await startTestApp(appOptions(redisUrl, rateLimitSyncMs));
  });
  afterAll(() => hunze.close());

  it('reports its backend in /readyz, staying ready', async () => {
    expect(await readyz(hunze)).toEqual({ status: 200, rateLimits: redisUrl ? 'redis' : 'local' });
  });

  it('admits rpm requests with x-ratelimit headers, then answers 429 rate_limit_exceeded with retry-after', async () => {
    const { key } = await hunze.createKey({ rpm: 3, tpm: 1_000_000 });
    const admitted = await untilRefused(hunze, key, 3);
    expect(admitted.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(admitted.map((a) => a.headers.get('x-ratelimit-remaining-requests'))).toEqual(['2', '1', '0']);
    for (const { headers } of admitted) {
      expect(rateHeaders(headers)).toEqual({
        'x-ratelimit-limit-requests': '3',
        'x-ratelimit-remaining-requests': expect.any(String),
        'x-ratelimit-reset-requests': expect.stringMatching(DURATION),
        'x-ratelimit-limit-tokens': '1000000',
        'x-ratelimit-remaining-tokens': expect.stringMatching(/^\d+$/),
        'x-ratelimit-reset-tokens': expect.stringMatching(DURATION),
      });
    }

    // The official SDK sees a RateLimitError carrying retry-after and all six headers.
    const client = new OpenAI({ apiKey: key, baseURL: hunze.baseURL, maxRetries: 0 });
    const refused = await client.chat.completions
      .create({ model: 'qwen', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    const error = refused as InstanceType<typeof OpenAI.RateLimitError>;
    expect(error.status).toBe(429);
    expect(error.code).toBe('rate_limit_exceeded');
    expect(error.message).toMatch(/Please try again in \d+(\.\d+)?s\./);
    const retryAfter = Number(error.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(20); // one request's interval at 3 a minute
    expect(error.headers.get('x-should-retry')).toBe('true');
    for (const name of RATE_HEADERS) expect(error.headers.get(name)).not.toBeNull();
    expect(error.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(upstream.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(3);
  });

  it('puts the headers on every response of a limited key (errors too) and none on an unlimited key', async () => {
    const limited = await hunze.createKey({ rpm: 100 });
    const unknownModel = await chat(hunze, limited.key, 'no-such-model');
    expect(unknownModel.status).toBe(404);
    expect(rateHeaders(unknownModel.headers)).toMatchObject({
      'x-ratelimit-limit-requests': '100',
      'x-ratelimit-remaining-requests': '99',
    });
    const models = await fetch(`${hunze.baseURL}/models`, {
      headers: { authorization: `Bearer ${limited.key}` },
    });
    expect(models.headers.get('x-ratelimit-remaining-requests')).toBe('98');
    const stream = await fetch(`${hunze.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${limited.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'qwen', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    expect(stream.headers.get('x-ratelimit-remaining-requests')).toBe('97');
    expect(await stream.text()).toContain('data: [DONE]');

    const free = await hunze.createKey({});
    const answer = await chat(hunze, free.key);
    expect(answer.status).toBe(200);
    expect(rateHeaders(answer.headers)).toEqual({});
  });

  it('refuses on the Gemini routes in Google’s error shape', async () => {
    const { key } = await hunze.createKey({ rpm: 1 });
    const url = `${hunze.url}/v1beta/models/qwen:generateContent`;
    const send = () =>
      fetch(url, {
        method: 'POST',
        headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
      });
    expect((await send()).status).toBe(200);
    const refused = await send();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(await refused.json()).toEqual({
      error: { code: 429, message: expect.stringContaining('Rate limit'), status: 'RESOURCE_EXHAUSTED' },
    });
  });

  it("refuses once the last minute's tokens (the upstream's count) reach tpm", async () => {
    upstream.completionText = 'word '.repeat(WORDS).trim();
    const { key } = await hunze.createKey({ tpm: 150 });
    const answers = await untilRefused(hunze, key, 4);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
    expect(answers[0]!.body.usage.total_tokens).toBe(TOKENS_PER_REQUEST);
    // Counted after the first answer: 100 of 150 used (a few drain each second).
    expect(Number(answers[1]!.headers.get('x-ratelimit-remaining-tokens'))).toBeGreaterThanOrEqual(50);
    expect(Number(answers[1]!.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThanOrEqual(52);
    const refused = answers[2]!;
    expect(refused.body.error).toMatchObject({ code: 'rate_limit_exceeded', type: 'requests' });
    expect(refused.headers.get('x-ratelimit-remaining-tokens')).toBe('0');
    expect(refused.headers.get('x-ratelimit-reset-tokens')).toMatch(/^1m\d+(\.\d+)?s$/); // 200 tokens at 150/min
    // 50 tokens over the limit drain at 150 a minute: 20 s.
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(18);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(20);
  });

  it('refuses with 429 quota_exceeded once the monthly quota is used up', async () => {
    upstream.completionText = 'word '.repeat(WORDS).trim();
    const { key } = await hunze.createKey({ monthly_tokens: 150 });
    const answers = await untilRefused(hunze, key, 4);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
    const refused = answers[2]!;
    expect(refused.body).toEqual({
      error: { message: expect.any(String), type: 'insufficient_quota', param: null, code: 'quota_exceeded' },
    });
    expect(refused.headers.get('x-should-retry')).toBe('false');
    const now = new Date();
    const monthEnds = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Math.abs(retryAfter - (monthEnds - Date.now()) / 1000)).toBeLessThan(5);
  });

  it("shares an account's limit among its keys, and applies limit changes to keys already in use", async () => {
    const account = team();
    const first = await hunze.createKey({ account });
    const second = await hunze.createKey({ account });
    const before = await chat(hunze, first.key); // cached, unlimited
    expect(rateHeaders(before.headers)).toEqual({});

    await setAccountLimits(hunze, account, { rpm: 3 });
    const statuses = [
      (await chat(hunze, first.key)).status,
      (await chat(hunze, second.key)).status,
      (await chat(hunze, first.key)).status,
    ];
    expect(statuses).toEqual([200, 200, 200]);
    const refused = await chat(hunze, second.key);
    expect(refused.status).toBe(429);
    expect(rateHeaders(refused.headers)).toMatchObject({
      'x-ratelimit-limit-requests': '3',
      'x-ratelimit-remaining-requests': '0',
    });
    // A key of another account is not affected.
    expect((await chat(hunze, (await hunze.createKey({ account: team() })).key)).status).toBe(200);

    await setAccountLimits(hunze, account, { rpm: null });
    const cleared = await chat(hunze, second.key);
    expect(cleared.status).toBe(200);
    expect(rateHeaders(cleared.headers)).toEqual({});
  });

  it('counts refusals in hunze_rate_limited_total by kind and scope', async () => {
    const account = team();
    await setAccountLimits(hunze, account, { monthly_tokens: 1 });
    const { key } = await hunze.createKey({ account });
    expect((await untilRefused(hunze, key, 3)).map((a) => a.status)).toEqual([200, 429]);
    expect(
      await metric(hunze, 'hunze_rate_limited_total{kind="quota",scope="account"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await metric(hunze, 'hunze_rate_limited_total{kind="requests",scope="key"}'),
    ).toBeGreaterThanOrEqual(1);
  });
});

describePostgres.each([
  ['one Redis round trip per request', EXACT, 0],
  ['counts exchanged every 20 ms', SYNC_MS, 5 * SYNC_MS],
])('two instances sharing Redis and one database (%s)', (_, rateLimitSyncMs, settleMs) => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp(appOptions(REDIS_URL, rateLimitSyncMs));
    b = await startTestApp({ ...appOptions(REDIS_URL, rateLimitSyncMs), databaseOf: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  // In sync mode an instance learns the other's counts at the next exchange, so the test lets one pass.
  const onEach = async <T>(on: TestApp, send: () => Promise<T>): Promise<T> => {
    const answer = await send();
    await sleep(settleMs);
    return answer;
  };

  it('enforce one requests-per-minute limit between them', async () => {
    const { key } = await a.createKey({ rpm: 4 });
    const statuses: number[] = [];
    for (const on of [a, b, a, b]) statuses.push((await onEach(on, () => chat(on, key))).status);
    expect(statuses).toEqual([200, 200, 200, 200]);
    const fromB = await chat(b, key);
    expect(fromB.status).toBe(429);
    expect(fromB.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect((await chat(a, key)).status).toBe(429);
  });

  it("enforce one account's monthly quota between them", async () => {
    upstream.completionText = 'word '.repeat(WORDS).trim();
    const account = team();
    await setAccountLimits(a, account, { monthly_tokens: 150 });
    const onA = await a.createKey({ account });
    const onB = await a.createKey({ account });
    expect((await onEach(a, () => chat(a, onA.key))).status).toBe(200);
    expect((await onEach(b, () => chat(b, onB.key))).status).toBe(200);
    expect((await chat(a, onA.key)).body.error?.code).toBe('quota_exceeded');
    expect((await chat(b, onB.key)).body.error?.code).toBe('quota_exceeded');
  });
});

describePostgres('two instances exchanging counts every 20 ms, without pauses', () => {
  it('admit at most one exchange interval of requests over the limit between them', async () => {
    const a = await startTestApp(appOptions(REDIS_URL, SYNC_MS));
    const b = await startTestApp({ ...appOptions(REDIS_URL, SYNC_MS), databaseOf: a });
    try {
      const { key } = await a.createKey({ rpm: 20 });
      const admitted = { a: 0, b: 0 };
      const started = Date.now();
      // Both instances at once, as fast as they answer, until each has been refused.
      await Promise.all(
        (['a', 'b'] as const).map(async (name) => {
          const on = name === 'a' ? a : b;
          for (let i = 0; i < 40; i++) {
            const answer = await chat(on, key);
            if (answer.status !== 200) break;
            admitted[name] += 1;
          }
        }),
      );
      const total = admitted.a + admitted.b;
      expect(total).toBeGreaterThanOrEqual(20);
      // Each instance can miss the other's requests of the last interval (and of one exchange in flight).
      const perInterval = Math.ceil((total / Math.max(1, Date.now() - started)) * 2 * SYNC_MS);
      expect(total).toBeLessThanOrEqual(20 + Math.max(2, perInterval));
      await sleep(5 * SYNC_MS);
      expect((await chat(a, key)).status).toBe(429);
      expect((await chat(b, key)).status).toBe(429);
    } finally {
      await b.close();
      await a.close();
    }
  }, 60_000);
});

describe('when Redis goes away', () => {
  let proxy: TcpProxy;
  let hunze: TestApp;

  beforeAll(async () => {
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: 6379 });
    hunze = await startTestApp(appOptions(`redis://127.0.0.1:${proxy.port}`, EXACT));
  });
  afterAll(async () => {
    await hunze.close();
    await proxy.close();
  });

  it('keeps serving under its local limits, counted all along, and says so until Redis is back', async () => {
    const { key } = await hunze.createKey({ rpm: 5 });
    expect(await readyz(hunze)).toEqual({ status: 200, rateLimits: 'redis' });
    expect(await metric(hunze, 'hunze_rate_limit_backend_up{backend="redis"}')).toBe(1);
    expect((await chat(hunze, key)).status).toBe(200);
    expect((await chat(hunze, key)).status).toBe(200);

    proxy.cut();
    const started = Date.now();
    const during = await untilRefused(hunze, key, 6);
    // Two already counted in Redis are remembered locally: three more, then 429.
    expect(during.map((a) => a.status)).toEqual([200, 200, 200, 429]);
    expect(during[3]!.body.error.code).toBe('rate_limit_exceeded');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await readyz(hunze)).toEqual({ status: 200, rateLimits: 'local (redis unavailable)' });
    expect(await metric(hunze, 'hunze_rate_limit_backend_up{backend="redis"}')).toBe(0);
    expect(hunze.logLines.filter((l) => l.includes('"evt":"rate_limits_degraded"'))).toHaveLength(1);

    proxy.resume();
    await waitFor(async () => (await readyz(hunze)).rateLimits === 'redis', 5000, 100);
    expect(await metric(hunze, 'hunze_rate_limit_backend_up{backend="redis"}')).toBe(1);
    expect(hunze.logLines.some((l) => l.includes('"evt":"rate_limits_restored"'))).toBe(true);
  });

  it('falls back within the command timeout when Redis stops answering (no error, no hang)', async () => {
    const { key } = await hunze.createKey({ rpm: 50 });
    expect((await chat(hunze, key)).status).toBe(200);
    proxy.pause();
    try {
      const timings: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        expect((await chat(hunze, key)).status).toBe(200);
        timings.push(performance.now() - started);
      }
      // The first waits out the 100 ms command timeout; the rest go straight to the local store.
      expect(timings[0]).toBeLessThan(1000);
      expect(Math.max(...timings.slice(1))).toBeLessThan(100);
      expect(await readyz(hunze)).toEqual({ status: 200, rateLimits: 'local (redis unavailable)' });
    } finally {
      proxy.resume();
    }
    await waitFor(async () => (await readyz(hunze)).rateLimits === 'redis', 5000, 100);
  });
});

describe('when Redis stops answering while counts are exchanged every 20 ms', () => {
  it('never holds a request for Redis, keeps its local counts, and reports the switch both ways', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 6379 });
    const hunze = await startTestApp(appOptions(`redis://127.0.0.1:${proxy.port}`, SYNC_MS));
    try {
      const { key } = await hunze.createKey({ rpm: 5 });
      expect((await chat(hunze, key)).status).toBe(200);
      proxy.pause();
      const timings: number[] = [];
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        statuses.push((await chat(hunze, key)).status);
        timings.push(performance.now() - started);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 429]);
      expect(Math.max(...timings)).toBeLessThan(100); // the 100 ms command timeout is never on the request path
      await waitFor(async () => (await readyz(hunze)).rateLimits === 'local (redis unavailable)', 2000, 20);
      expect(hunze.logLines.filter((l) => l.includes('"evt":"rate_limits_degraded"'))).toHaveLength(1);
      proxy.resume();
      await waitFor(async () => (await readyz(hunze)).rateLimits === 'redis', 5000, 100);
      expect((await chat(hunze, key)).status).toBe(429); // what it counted alone still holds
    } finally {
      proxy.resume();
      await hunze.close();
      await proxy.close();
    }
  }, 60_000);
});

describe('when Redis is down at boot', () => {
  it('starts, serves under local limits, and switches to Redis once it is reachable', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 6379 });
    proxy.cut();
    const started = Date.now();
    const hunze = await startTestApp(appOptions(`redis://127.0.0.1:${proxy.port}`));
    try {
      expect(Date.now() - started).toBeLessThan(20_000); // before, boot waited for Redis forever
      const { key } = await hunze.createKey({ rpm: 2 });
      expect((await chat(hunze, key)).status).toBe(200);
      expect((await chat(hunze, key)).status).toBe(200);
      expect((await chat(hunze, key)).body.error?.code).toBe('rate_limit_exceeded');
      expect(await readyz(hunze)).toEqual({ status: 200, rateLimits: 'local (redis unavailable)' });
      proxy.resume();
      await waitFor(async () => (await readyz(hunze)).rateLimits === 'redis', 10_000, 100);
    } finally {
      await hunze.close();
      await proxy.close();
    }
  }, 60_000);
});

describe('monthly usage across a restart', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'hunze-limits-'));
  const dataDir = join(tmp, 'data');
  let database: { url: string; drop: () => Promise<void> } | undefined;
  let server: ServeChild | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    if (usingPostgres()) database = await freshPostgresDatabase();
    const config = join(tmp, 'hunze.yaml');
    writeFileSync(config, configYaml(appOptions()));
    env = {
      HUNZE_CONFIG: config,
      HUNZE_DATA_DIR: dataDir,
      HUNZE_ADMIN_KEY: ADMIN_KEY,
      ...(database ? { DATABASE_URL: database.url } : {}),
    };
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const createKey = async (url: string, body: Record<string, unknown>) => {
    const res = await fetch(`${url}/admin/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'restart', ...body }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; key: string };
  };

  /** What the usage writer would have stored: rows straight into usage_records (another module writes them). */
  async function insertUsage(rows: { keyId: string; account: string; at: Date; tokens: number }[]) {
    const ds = createDataSource({ databaseUrl: database?.url, dataDir });
    await ds.initialize();
    try {
      for (const r of rows) {
        await ds.query(
          `INSERT INTO usage_records (id, request_id, occurred_at, account, key_id, endpoint, status, total_tokens, latency_ms)
           VALUES ($1, $2, $3, $4, $5, '/v1/chat/completions', 200, $6, 1)`,
          [randomUUID(), `req_${randomUUID()}`, r.at.toISOString(), r.account, r.keyId, r.tokens],
        );
      }
    } finally {
      await ds.destroy();
    }
  }

  it("keeps the month's tokens per key and per account (seeded from usage_records at boot)", async () => {
    server = await startServe(env);
    const account = team();
    await setAccountLimits(server, account, { monthly_tokens: 1000 });
    const spent = await createKey(server.url, { monthly_tokens: 1000 });
    const lastMonthOnly = await createKey(server.url, { monthly_tokens: 1000 });
    const inAccount = await createKey(server.url, { account });
    const v1 = { baseURL: `${server.url}/v1` };
    for (const k of [spent, lastMonthOnly, inAccount]) expect((await chat(v1, k.key)).status).toBe(200);
    await server.stop();
    server = undefined;

    const now = new Date();
    const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 15));
    await insertUsage([
      { keyId: spent.id, account: 'default', at: now, tokens: 600 },
      { keyId: spent.id, account: 'default', at: now, tokens: 400 },
      { keyId: lastMonthOnly.id, account: 'default', at: lastMonth, tokens: 5000 },
      { keyId: randomUUID(), account, at: now, tokens: 1000 }, // another key of the account
    ]);

    server = await startServe(env);
    const after = { baseURL: `${server.url}/v1` };
    expect((await chat(after, spent.key)).body.error?.code).toBe('quota_exceeded');
    expect((await chat(after, inAccount.key)).body.error?.code).toBe('quota_exceeded');
    expect((await chat(after, lastMonthOnly.key)).status).toBe(200);
  }, 60_000);
});
