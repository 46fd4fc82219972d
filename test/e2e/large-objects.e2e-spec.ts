// One request must not stall the others: a body with an object of tens of thousands of keys (logit_bias,
// metadata, a tool's parameter schema, unknown top-level fields) is refused in time linear in its size, and
// /healthz, polled all the while, answers as fast as it does at rest. Also for a key that may not use the
// model (its 403 comes after the body is parsed and validated). Timing bounds compare with a smaller body and
// with a control measured the same way in the same test (a body of the same size whose keys are spread over
// one-key objects, which Hunze parses whole), so a loaded machine does not make them fail.
import { FakeVllm } from '../fakes/fake-vllm';
import { openAiErrorOf, send } from '../helpers/raw-http';
import { startTestApp, type TestApp } from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const OTHER_MODEL = 'other/chat-model';
const SMALL = 12_500;
const LARGE = 50_000;
/** 4x the keys may cost 4x the time; this leaves room for a loaded machine, not for quadratic growth (16x). */
const MAX_RATIO = 10;
/** How much slower /healthz may answer while the large body is handled than while its control is parsed. */
const HEALTHZ_SLACK_MS = 100;

const base = () => ({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
const keys = (n: number, name: (i: number) => string, value: (i: number) => unknown) => {
  const object: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) object[name(i)] = value(i);
  return object;
};

/** Each body, as JSON text, with `n` keys in one object; and the param its refusal names. */
const CASES: [string, (n: number) => string, string][] = [
  [
    'logit_bias',
    (n) =>
      JSON.stringify({
        ...base(),
        logit_bias: keys(
          n,
          (i) => String(1000 + i),
          () => -100,
        ),
      }),
    'logit_bias',
  ],
  [
    'metadata',
    (n) =>
      JSON.stringify({
        ...base(),
        metadata: keys(
          n,
          (i) => `k${i}`,
          (i) => `v${i}`,
        ),
      }),
    'metadata',
  ],
  [
    'a tool parameter schema',
    (n) => {
      const parameters = {
        type: 'object',
        properties: keys(
          n,
          (i) => `p${i}`,
          () => ({ type: 'string' }),
        ),
      };
      return JSON.stringify({
        ...base(),
        tools: [{ type: 'function', function: { name: 'f', parameters } }],
      });
    },
    'tools',
  ],
  [
    'unknown top-level fields',
    // Written as text: an object literal of 50,000 keys is itself slow to build in the test.
    (n) => {
      const fields = Array.from({ length: n }, (_, i) => `"x_${i}":${i}`).join(',');
      return `${JSON.stringify(base()).slice(0, -1)},${fields}}`;
    },
    'body',
  ],
];

/**
 * The control for a body of `n` keys: about as many bytes, the same keys in one-key objects, so parsing it as
 * JSON costs what parsing the large body would. The contract: a large body delays others no more than that.
 */
const controlOf = (n: number) =>
  JSON.stringify({
    ...base(),
    x_control: Array.from({ length: n }, (_, i) => ({ [`p${i}`]: { type: 'string' } })),
  });

describe('bodies with objects of many keys', () => {
  let upstream: FakeVllm;
  let hunze: TestApp;
  let allowedKey: string;
  let otherModelKey: string;

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: MODEL });
    hunze = await startTestApp({
      upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
      models: [
        { id: MODEL, upstreams: ['vllm-a'] },
        { id: OTHER_MODEL, upstreams: ['vllm-a'] },
      ],
    });
    ({ key: allowedKey } = await hunze.createKey({ name: 'large-objects' }));
    ({ key: otherModelKey } = await hunze.createKey({ name: 'other-model-only', models: [OTHER_MODEL] }));
  });

  afterAll(async () => {
    await hunze?.close();
    await upstream?.close();
  });

  async function healthzMs(): Promise<number> {
    const started = performance.now();
    const res = await send(`${hunze.url}/healthz`, { method: 'GET' });
    expect(res.status).toBe(200);
    return performance.now() - started;
  }

  /**
   * Sends each size twice, with the large size's control beside it (small, large, control, small, large,
   * control), while polling /healthz. Per body, keeps the faster of the two answers and the lower of the two
   * slowest /healthz answers: a stall the body causes shows in both tries, a moment of a shared machine's
   * load rarely does.
   */
  async function measure(
    bodyOf: (n: number) => string,
    key: string,
    [smallSize, largeSize]: [number, number],
    status: number,
  ) {
    type Best = { ms: number; healthz: number };
    const best = { small: { ms: Infinity, healthz: Infinity }, large: { ms: Infinity, healthz: Infinity } };
    const control: Best = { ms: Infinity, healthz: Infinity };
    const keep = (seen: Best, ms: number, healthz: number) => {
      seen.ms = Math.min(seen.ms, ms);
      seen.healthz = Math.min(seen.healthz, healthz);
    };
    for (let round = 0; round < 2; round++) {
      for (const [size, seen] of [
        [smallSize, best.small],
        [largeSize, best.large],
      ] as const) {
        const { res, ms, slowestHealthz } = await sendWhilePolling(bodyOf(size), key);
        expect(res.status).toBe(status);
        if (status >= 400) expect(openAiErrorOf(res).code).toBe('too_many_keys');
        keep(seen, ms, slowestHealthz);
      }
      const { res, ms, slowestHealthz } = await sendWhilePolling(controlOf(largeSize), key);
      expect(res.status).toBeLessThan(500);
      keep(control, ms, slowestHealthz);
    }
    return { ...best, control };
  }

  /**
   * Sends one chat body and polls /healthz one request after another until its answer is in. Returns the
   * body's answer, how long it took, and the slowest /healthz answer meanwhile.
   */
  async function sendWhilePolling(body: string, key: string) {
    const started = performance.now();
    let done = false;
    const answer = send(`${hunze.url}/v1/chat/completions`, {
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body,
    }).finally(() => (done = true));
    const answerMs = answer.then(() => performance.now() - started);
    let slowestHealthz = 0;
    for (let polls = 0; !done && polls < 10_000; polls++)
      slowestHealthz = Math.max(slowestHealthz, await healthzMs());
    return { res: await answer, ms: await answerMs, slowestHealthz };
  }

  describe.each([
    ['a key allowed to use the model', () => allowedKey],
    ['a key not allowed to use the model', () => otherModelKey],
  ])('from %s', (_who, key) => {
    it.each(CASES)(
      'refuses %s with 50,000 keys in time linear in the size, /healthz answering meanwhile',
      async (_name, bodyOf, param) => {
        const res = await send(`${hunze.url}/v1/chat/completions`, {
          headers: { authorization: `Bearer ${key()}`, 'content-type': 'application/json' },
          body: bodyOf(LARGE),
        });
        expect(res.status).toBe(400);
        expect(openAiErrorOf(res)).toMatchObject({ code: 'too_many_keys', param });
        const { small, large, control } = await measure(bodyOf, key(), [SMALL, LARGE], 400);
        expect(large.healthz).toBeLessThan(control.healthz + HEALTHZ_SLACK_MS);
        expect(large.ms / small.ms).toBeLessThan(MAX_RATIO);
      },
    );
  });

  it('refuses logit_bias over 300 entries and metadata over 16 pairs by name, before the model check', async () => {
    const cases: [object, string][] = [
      [
        {
          ...base(),
          logit_bias: keys(
            301,
            (i) => String(i),
            () => 1,
          ),
        },
        'logit_bias',
      ],
      [
        {
          ...base(),
          metadata: keys(
            17,
            (i) => `k${i}`,
            () => 'v',
          ),
        },
        'metadata',
      ],
    ];
    for (const [body, param] of cases) {
      for (const key of [allowedKey, otherModelKey]) {
        const res = await send(`${hunze.url}/v1/chat/completions`, {
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(res.status).toBe(400);
        expect(openAiErrorOf(res)).toMatchObject({ code: 'too_many_entries', param });
      }
    }
    const atTheLimit = {
      ...base(),
      logit_bias: keys(
        300,
        (i) => String(i),
        () => 1,
      ),
      metadata: keys(
        16,
        (i) => `k${i}`,
        () => 'v',
      ),
    };
    const res = await send(`${hunze.url}/v1/chat/completions`, {
      headers: { authorization: `Bearer ${allowedKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(atTheLimit),
    });
    expect(res.status).toBe(200);
  });

  it('serves a tool schema of up to server.maxObjectKeys keys in time linear in its size', async () => {
    const [, bodyOf] = CASES[2]!;
    const { small, large, control } = await measure(bodyOf, allowedKey, [2_500, 10_000], 200);
    expect(large.healthz).toBeLessThan(control.healthz + HEALTHZ_SLACK_MS);
    expect(large.ms / small.ms).toBeLessThan(MAX_RATIO);
  });
});
