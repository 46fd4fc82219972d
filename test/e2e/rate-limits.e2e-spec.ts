// Per-key and per-account limits on the model endpoints: requests per minute, tokens per minute (the fake
// vLLM's own usage counts) and the monthly token quota, in memory on one instance and shared in Redis by two;
// when Redis goes away an instance keeps serving under its local (warm) limits and says so in /readyz and
// /metrics. Every limited response carries OpenAI's x-ratelimit-* headers; refusals are 429s with retry-after.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { createDataSource } from '../../src/database/data-source';
import { ENTITIES } from '../../src/entities';
import { MetricsService } from '../../src/metering/metrics.service';
import { ADMIT, CONSUME } from '../../src/metering/rate-limits/redis-scripts';
import { FakeVllm } from '../fakes/fake-vllm';
import { PROCESS_TEST_MS, type ServeChild, startServe } from '../helpers/cli';
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

// Tests here start CLI processes or appliances of their own (see PROCESS_TEST_MS).
jest.setTimeout(PROCESS_TEST_MS);

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
/**
 * For tests about how counts are shared, not about Redis failing: a reply that a loaded machine holds past the
 * 100 ms default switches an instance to local limits and drops the counts it had not exchanged yet (documented;
 * the "when Redis ..." tests cover it), and the shared count would then fall short of what the test counted.
 */
const steadyRedis = (options: TestAppOptions): TestAppOptions => ({
  ...options,
  redisCommandTimeoutMs: 10_000,
});
const WINDOW_MS = 60_000;
/** Generous: waits end on the event, the deadline only turns a hang into a failure. */
const DEADLINE_MS = 30_000;
/** The Lua scripts as their EVALSHA names appear in Redis traffic. */
const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

interface Answer {
  status: number;
  headers: Headers;
  body: any; // the JSON of whichever answer came back
  /** Date.now() before sending and after the answer: Hunze decided in between. */
  sentAt: number;
  answeredAt: number;
}

async function chat(on: Pick<TestApp, 'baseURL'>, key: string, model = 'qwen'): Promise<Answer> {
  const sentAt = Date.now();
  const res = await fetch(`${on.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  const body = await res.json();
  return { status: res.status, headers: res.headers, body, sentAt, answeredAt: Date.now() };
}

const took = (a: Answer) => a.answeredAt - a.sentAt;

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

/** Exchanges of counts with Redis `on` has completed, read in-process (no request of the test's own). */
async function exchanges(on: TestApp): Promise<number> {
  const counter = on.app.get(MetricsService).registry.getSingleMetric('hunze_rate_limit_exchanges_total');
  return (await counter!.get()).values[0]?.value ?? 0;
}

/**
 * Every count made on these instances so far has reached Redis and come back to each of them. An exchange
 * may be under way when this starts (it took its counts before), so each instance completes two: the
 * second began after the call, carried everything counted before it and took in the state of that moment.
 */
async function settle(...apps: TestApp[]): Promise<void> {
  const twoExchanges = async (on: TestApp) => {
    const from = await exchanges(on);
    await waitFor(async () => (await exchanges(on)) >= from + 2, DEADLINE_MS, 5);
  };
  await Promise.all(apps.map(twoExchanges)); // each one's counts are in Redis
  await Promise.all(apps.map(twoExchanges)); // and each took in the state after all of them
}

/**
 * `answer` came from an instance that must know of `total` requests of a key limited to `rpm`, all made after
 * `since`. It is refused, unless the limit has refilled since (a slow machine): then it is admitted only as
 * far as the refill allows. GCRA admits at most (window + interval / 2 + elapsed) / interval in `elapsed`.
 */
function expectCounted(answer: Answer, rpm: number, total: number, since: number): void {
  const interval = WINDOW_MS / rpm;
  const admissible = Math.floor((WINDOW_MS + interval / 2 + answer.answeredAt - since) / interval);
  if (answer.status === 429) {
    expect(answer.body.error.code).toBe('rate_limit_exceeded');
    expect(answer.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    return;
  }
  expect(answer.status).toBe(200);
  expect(total + 1).toBeLessThanOrEqual(admissible);
  expect(Number(answer.headers.get('x-ratelimit-remaining-requests'))).toBeLessThanOrEqual(
    admissible - total - 1,
  );
}

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
    hunze = await startTestApp(steadyRedis(appOptions(redisUrl, rateLimitSyncMs)));
  });
  afterAll(() => hunze.close());

  it('reports its backend in /readyz, staying ready', async () => {
    // A Redis reply held up past the command timeout by a stalled event loop switches to local until
    // the next ping (each second): wait out such a blip, ready all along.
    const backend = redisUrl ? 'redis' : 'local';
    await waitFor(async () => (await readyz(hunze)).rateLimits === backend, DEADLINE_MS, 100);
    expect(await readyz(hunze)).toEqual({ status: 200, rateLimits: backend });
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
    // 4 a minute: a request refills every 15 s, so the counts below hold for 7.5 s (100 a minute: 0.3 s).
    const limited = await hunze.createKey({ rpm: 4 });
    const unknownModel = await chat(hunze, limited.key, 'no-such-model');
    expect(unknownModel.status).toBe(404);
    expect(rateHeaders(unknownModel.headers)).toMatchObject({
      'x-ratelimit-limit-requests': '4',
      'x-ratelimit-remaining-requests': '3',
    });
    const models = await fetch(`${hunze.baseURL}/models`, {
      headers: { authorization: `Bearer ${limited.key}` },
    });
    expect(models.headers.get('x-ratelimit-remaining-requests')).toBe('2');
    const stream = await fetch(`${hunze.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${limited.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'qwen', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    expect(stream.headers.get('x-ratelimit-remaining-requests')).toBe('1');
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
    // Counted after the first answer: 100 of 150 used, and 150 a minute (one per 400 ms) drained since, at
    // most for as long as the test has run (a loaded machine may take its time between requests).
    const [first, second, refused] = answers as [Answer, Answer, Answer];
    const remaining = Number(second.headers.get('x-ratelimit-remaining-tokens'));
    expect(remaining).toBeGreaterThanOrEqual(50);
    expect(remaining).toBeLessThanOrEqual(50 + Math.floor((second.answeredAt - first.sentAt) / 400));
    expect(refused.body.error).toMatchObject({ code: 'rate_limit_exceeded', type: 'requests' });
    expect(refused.headers.get('x-ratelimit-remaining-tokens')).toBe('0');
    expect(refused.headers.get('x-ratelimit-reset-tokens')).toMatch(/^1m\d+(\.\d+)?s$/); // 200 tokens at 150/min
    // 50 tokens over the limit drain at 150 a minute: 20 s after the first answer was counted, less the time
    // since (the refusal's retry-after-ms is that plus 1 ms, rounded up to seconds).
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(
      Math.ceil((20_001 - (refused.answeredAt - first.sentAt)) / 1000),
    );
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil((20_001 - (refused.sentAt - first.answeredAt)) / 1000));
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
    // The seconds to the next UTC month, from the moment Hunze decided (between sending and the answer).
    const sent = new Date(refused.sentAt);
    const monthEnds = Date.UTC(sent.getUTCFullYear(), sent.getUTCMonth() + 1, 1);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(Math.ceil((monthEnds - refused.answeredAt) / 1000));
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil((monthEnds - refused.sentAt) / 1000));
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
  ['one Redis round trip per request', EXACT],
  ['counts exchanged every 20 ms', SYNC_MS],
])('two instances sharing Redis and one database (%s)', (_, rateLimitSyncMs) => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp(steadyRedis(appOptions(REDIS_URL, rateLimitSyncMs)));
    b = await startTestApp({ ...steadyRedis(appOptions(REDIS_URL, rateLimitSyncMs)), databaseOf: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  // In sync mode an instance learns the other's counts at its next exchange, so the test lets them happen.
  const onEach = async <T>(send: () => Promise<T>): Promise<T> => {
    const answer = await send();
    if (rateLimitSyncMs > 0) await settle(a, b);
    return answer;
  };

  it('enforce one requests-per-minute limit between them', async () => {
    const { key } = await a.createKey({ rpm: 4 });
    const started = Date.now();
    const statuses: number[] = [];
    for (const on of [a, b, a, b]) statuses.push((await onEach(() => chat(on, key))).status);
    expect(statuses).toEqual([200, 200, 200, 200]);
    // Refused by both (unless a slow machine took long enough for the limit to refill).
    expectCounted(await chat(b, key), 4, 4, started);
    expectCounted(await chat(a, key), 4, 4, started);
  });

  it("enforce one account's monthly quota between them", async () => {
    upstream.completionText = 'word '.repeat(WORDS).trim();
    const account = team();
    await setAccountLimits(a, account, { monthly_tokens: 150 });
    const onA = await a.createKey({ account });
    const onB = await a.createKey({ account });
    expect((await onEach(() => chat(a, onA.key))).status).toBe(200);
    expect((await onEach(() => chat(b, onB.key))).status).toBe(200);
    expect((await chat(a, onA.key)).body.error?.code).toBe('quota_exceeded');
    expect((await chat(b, onB.key)).body.error?.code).toBe('quota_exceeded');
  });
});

describePostgres('two instances exchanging counts every 20 ms, without pauses', () => {
  it('admit over the limit only requests the other had not yet taken in through its exchanges', async () => {
    const a = await startTestApp(steadyRedis(appOptions(REDIS_URL, SYNC_MS)));
    const b = await startTestApp({ ...steadyRedis(appOptions(REDIS_URL, SYNC_MS)), databaseOf: a });
    try {
      const RPM = 20;
      const { key } = await a.createKey({ rpm: RPM });
      const apps = { a, b };
      type Name = keyof typeof apps;
      const other = (name: Name): Name => (name === 'a' ? 'b' : 'a');
      // Rounds of one request on each instance at once, as fast as they answer, until each has been refused.
      // After each round both exchange counters are read, in the order a, b, a: each instance has a read
      // that follows a read of the other.
      const admitted: Record<Name, number[]> = { a: [], b: [] }; // the rounds of the admitted requests
      const refused: Record<Name, boolean> = { a: false, b: false };
      const reads: { a1: number; b: number; a2: number }[] = [];
      const started = Date.now();
      for (let round = 0; round < 2 * RPM && !(refused.a && refused.b); round++) {
        await Promise.all(
          (['a', 'b'] as const).map(async (name) => {
            if (refused[name]) return;
            const answer = await chat(apps[name], key);
            if (answer.status === 200) admitted[name].push(round);
            else refused[name] = true;
          }),
        );
        reads.push({ a1: await exchanges(a), b: await exchanges(b), a2: await exchanges(a) });
      }
      const elapsed = Date.now() - started;
      expect(refused).toEqual({ a: true, b: true });
      const total = admitted.a.length + admitted.b.length;
      expect(total).toBeGreaterThanOrEqual(RPM);

      // Counted in exchanges, not milliseconds: the fewer exchanges a loaded machine fits between requests,
      // the more one instance misses of the other, and the more it may admit. A request admitted on x in
      // round k is in Redis once x has completed two more exchanges than it had after the round (one may
      // have been under way), and y has it once it has completed two more than it had after that.
      const first = (name: Name, i: number) => (name === 'a' ? reads[i]!.a1 : reads[i]!.b);
      const last = (name: Name, i: number) => (name === 'a' ? reads[i]!.a2 : reads[i]!.b);
      const after = (from: number, done: (i: number) => boolean) => {
        for (let i = from; i < reads.length; i++) if (done(i)) return i;
        return undefined;
      };
      /** The round after which `y` has surely taken in the request admitted on `x` in `round`. */
      const takenIn = (x: Name, round: number): number | undefined => {
        const y = other(x);
        const sent = first(x, round) + 2;
        const inRedis = after(round, (i) => first(x, i) >= sent);
        if (inRedis === undefined) return undefined;
        const fetched = last(y, inRedis) + 2; // y's read follows x's in the same set of reads
        return after(inRedis + 1, (i) => last(y, i) >= fetched);
      };
      /** Requests of `x` that `y` may not have known of when it admitted its last one. */
      const missed = (x: Name): number => {
        const lastOfY = admitted[other(x)].at(-1);
        if (lastOfY === undefined) return 0; // y admitted none: x alone held to the limit
        return admitted[x].filter((round) => (takenIn(x, round) ?? Infinity) >= lastOfY).length;
      };
      // The limit, plus what refilled while the rounds ran (one request every 3 s).
      const interval = WINDOW_MS / RPM;
      const admissible = Math.floor((WINDOW_MS + interval / 2 + elapsed) / interval);
      expect(total).toBeLessThanOrEqual(admissible + Math.min(missed('a'), missed('b')));

      // Once the counts are exchanged, both know all of them.
      await settle(a, b);
      expectCounted(await chat(a, key), RPM, total, started);
      expectCounted(await chat(b, key), RPM, total, started);
    } finally {
      await b.close();
      await a.close();
    }
  });
});

/** The rate limiter's switches the log reports from line `from` on, in order. */
function switchesSince(hunze: TestApp, from: number): ('degraded' | 'restored')[] {
  return hunze.logLines.slice(from).flatMap((line) => {
    const found = /"evt":"rate_limits_(degraded|restored)"/.exec(line);
    return found ? [found[1] as 'degraded' | 'restored'] : [];
  });
}

/**
 * Redis is unreachable now, and each switch was reported once, not once per request: the events alternate and
 * end with the switch to local counting. (On a loaded machine an exchange may time out and recover on its own
 * before the test cuts Redis: that is a switch of its own, reported once too.)
 */
function expectEachSwitchReportedOnce(switches: ('degraded' | 'restored')[]): void {
  expect(switches.at(-1)).toBe('degraded');
  expect(switches.filter((event, i) => i > 0 && event === switches[i - 1])).toEqual([]);
}

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
    await waitFor(async () => (await readyz(hunze)).rateLimits === 'redis', DEADLINE_MS, 100);
    expect(await readyz(hunze)).toEqual({ status: 200, rateLimits: 'redis' });
    expect(await metric(hunze, 'hunze_rate_limit_backend_up{backend="redis"}')).toBe(1);
    const logFrom = hunze.logLines.length;
    const control = [await chat(hunze, key), await chat(hunze, key)];
    expect(control.map((a) => a.status)).toEqual([200, 200]);

    proxy.cut();
    const during = [await chat(hunze, key), await chat(hunze, key), await chat(hunze, key)];
    // Two already counted in Redis are remembered locally: three more, then 429.
    expect(during.map((a) => a.status)).toEqual([200, 200, 200]);
    during.push(await chat(hunze, key));
    expectCounted(during[3]!, 5, 5, control[0]!.sentAt);
    // None waited for Redis to come back (a reconnect alone may take the 1 s connect timeout): each took
    // less than that on top of the slowest request made with Redis in the same conditions.
    const slowestControl = Math.max(...control.map(took));
    for (const answer of during) expect(took(answer) - slowestControl).toBeLessThan(1000);
    expect(await readyz(hunze)).toEqual({ status: 200, rateLimits: 'local (redis unavailable)' });
    expect(await metric(hunze, 'hunze_rate_limit_backend_up{backend="redis"}')).toBe(0);
    expectEachSwitchReportedOnce(switchesSince(hunze, logFrom));

    proxy.resume();
    await waitFor(async () => (await readyz(hunze)).rateLimits === 'redis', DEADLINE_MS, 100);
    expect(await metric(hunze, 'hunze_rate_limit_backend_up{backend="redis"}')).toBe(1);
    expect(hunze.logLines.some((l) => l.includes('"evt":"rate_limits_restored"'))).toBe(true);
  });

  it('falls back within the command timeout when Redis stops answering (no error, no hang)', async () => {
    const { key } = await hunze.createKey({ rpm: 50 });
    const control = await chat(hunze, key); // with its Redis round trip
    expect(control.status).toBe(200);
    const sent = proxy.record();
    proxy.pause();
    const during: Answer[] = [];
    try {
      for (let i = 0; i < 5; i++) during.push(await chat(hunze, key));
      expect(during.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
      expect(await readyz(hunze)).toEqual({ status: 200, rateLimits: 'local (redis unavailable)' });
    } finally {
      proxy.resume();
    }
    await waitFor(async () => (await readyz(hunze)).rateLimits === 'redis', DEADLINE_MS, 100);
    // The first waited out the 100 ms command timeout and no more: well under a second on top of the
    // control request's time.
    expect(took(during[0]!) - took(control)).toBeLessThan(1000);
    // The rest went straight to the local store: only the first asked Redis (its bytes, held while paused,
    // went through on resume, before the ping that switched back to Redis).
    expect(sent.text().split(sha1(ADMIT)).length - 1).toBe(1);
  });
});

describe('when Redis stops answering while counts are exchanged every 20 ms', () => {
  it('never holds a request for Redis, keeps its local counts, and reports the switch both ways', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 6379 });
    const hunze = await startTestApp(appOptions(`redis://127.0.0.1:${proxy.port}`, SYNC_MS));
    try {
      // 3 a minute: one refills after 20 s, so the refusals below hold for 10 s.
      const { key } = await hunze.createKey({ rpm: 3 });
      const control = await chat(hunze, key);
      expect(control.status).toBe(200);
      // On a loaded machine an exchange can outlast its 100 ms timeout before the pause, too: start from Redis.
      await waitFor(async () => (await readyz(hunze)).rateLimits === 'redis', DEADLINE_MS, 100);
      const logFrom = hunze.logLines.length;
      const sent = proxy.record();
      proxy.pause();
      const during: Answer[] = [];
      for (let i = 0; i < 5; i++) during.push(await chat(hunze, key));
      expect(during.slice(0, 2).map((a) => a.status)).toEqual([200, 200]);
      for (const answer of during.slice(2)) expectCounted(answer, 3, 3, control.sentAt);
      // The exchange under way times out (100 ms) and the switch is reported once.
      await waitFor(
        async () => (await readyz(hunze)).rateLimits === 'local (redis unavailable)',
        DEADLINE_MS,
        20,
      );
      expectEachSwitchReportedOnce(switchesSince(hunze, logFrom));
      proxy.resume();
      await waitFor(async () => (await readyz(hunze)).rateLimits === 'redis', DEADLINE_MS, 100);
      // The 100 ms command timeout is never on the request path: no request sent Redis anything, neither an
      // admission nor a token charge (what was held while paused went through on resume, before the ping).
      expect(sent.text()).not.toContain(sha1(ADMIT));
      expect(sent.text()).not.toContain(sha1(CONSUME));
      expectCounted(await chat(hunze, key), 3, 3, control.sentAt); // what it counted alone still holds
    } finally {
      proxy.resume();
      await hunze.close();
      await proxy.close();
    }
  });
});

describe('when Redis is down at boot', () => {
  it('starts, serves under local limits, and switches to Redis once it is reachable', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 6379 });
    proxy.cut();
    // Before, boot waited for Redis forever: the app's start resolving at all, with Redis still cut, is
    // the check (no clock: a fresh database and migrations take a minute on a loaded machine).
    const hunze = await startTestApp(appOptions(`redis://127.0.0.1:${proxy.port}`));
    try {
      const { key } = await hunze.createKey({ rpm: 2 });
      const first = await chat(hunze, key);
      expect(first.status).toBe(200);
      expect((await chat(hunze, key)).status).toBe(200);
      expectCounted(await chat(hunze, key), 2, 2, first.sentAt);
      expect(await readyz(hunze)).toEqual({ status: 200, rateLimits: 'local (redis unavailable)' });
      proxy.resume();
      await waitFor(async () => (await readyz(hunze)).rateLimits === 'redis', DEADLINE_MS, 100);
    } finally {
      await hunze.close();
      await proxy.close();
    }
  });
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
    const ds = createDataSource({ databaseUrl: database?.url, dataDir }, ENTITIES);
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
  });
});
