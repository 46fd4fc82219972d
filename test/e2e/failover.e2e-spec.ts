// Several upstreams behind one model behave like one reliable service: losing one under load is invisible
// to every request that had not started streaming; health checks and the circuit breaker steer traffic away.
import OpenAI from 'openai';
import { FakeVllm } from '../fakes/fake-vllm';
import { startTestApp, waitFor, type TestApp, type TestUpstream } from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';

interface Outcome {
  ok: boolean;
  stream: boolean;
  /** A stream had relayed at least one chunk to the client before it failed. */
  started: boolean;
}

describe('failover across upstreams', () => {
  let a: FakeVllm;
  let b: FakeVllm;
  let hunze: TestApp | undefined;

  beforeEach(async () => {
    a = await FakeVllm.start({ modelName: MODEL });
    b = await FakeVllm.start({ modelName: MODEL });
  });

  afterEach(async () => {
    await hunze?.close();
    hunze = undefined;
    await Promise.all([a.close(), b.close()]);
  });

  async function start(upstreamA: Partial<TestUpstream> = {}, upstreamB: Partial<TestUpstream> = {}) {
    hunze = await startTestApp({
      upstreams: [
        { id: 'gpu-a', baseUrl: a.baseUrl, ...upstreamA },
        { id: 'gpu-b', baseUrl: b.baseUrl, ...upstreamB },
      ],
      models: [{ id: MODEL, upstreams: ['gpu-a', 'gpu-b'] }],
    });
    const { key } = await hunze.createKey();
    return new OpenAI({ apiKey: key, baseURL: hunze.baseURL, maxRetries: 0 });
  }

  async function one(client: OpenAI, stream: boolean): Promise<Outcome> {
    let started = false;
    try {
      if (!stream) {
        await client.chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: 'hello there' }],
        });
      } else {
        const s = await client.chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: 'hi' }],
          stream: true,
        });
        for await (const chunk of s) started = started || chunk.choices.length > 0;
      }
      return { ok: true, stream, started };
    } catch {
      return { ok: false, stream, started };
    }
  }

  it('loses no request that had not started streaming when one of two upstreams dies under load', async () => {
    a.chunkDelayMs = 15;
    b.chunkDelayMs = 15;
    a.firstByteDelayMs = 10;
    const client = await start();
    const total = 160;
    const concurrency = 16;
    const outcomes: Outcome[] = [];
    let next = 0;
    let killed = false;
    const deadline = Date.now() + 90_000;
    const worker = async () => {
      while (next < total && Date.now() < deadline) {
        const i = next++;
        outcomes.push(await one(client, i % 2 === 0));
        if (!killed && outcomes.length >= total / 4) {
          killed = true;
          // Hold a's next answers before their first byte, so the kill surely catches some of them
          // (otherwise every request in flight there may be a stream that had started, and the breaker
          // then steers all later traffic to b: no failover would be exercised at all).
          a.mode = 'hang';
          const arrived = a.requests.length;
          await waitFor(async () => a.requests.length > arrived, 30_000);
          await a.close(); // destroys every socket, mid-answer ones included
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));

    expect(outcomes).toHaveLength(total);
    const lost = outcomes.filter((o) => !o.ok && !(o.stream && o.started));
    expect(lost).toEqual([]);
    const failovers = hunze!.logLines.filter((l) => l.includes('"failovers":')).length;
    expect(failovers).toBeGreaterThan(0);
    expect(b.requests.length).toBeGreaterThan(total / 2);
  });

  it('fails over when an upstream answers 5xx, and only then', async () => {
    a.mode = 'plain-text-500';
    const client = await start();
    for (let i = 0; i < 6; i++) {
      const completion = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(completion.choices[0]?.message.content).toBeTruthy();
    }
    // A 400 is the request's fault: no other upstream would answer differently, so none is tried.
    a.reset();
    b.reset();
    a.mode = 'error-new';
    b.mode = 'error-new';
    const error = (await client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(400);
    expect(a.requests.length + b.requests.length).toBe(1);
  });

  it('opens the circuit after consecutive failures and stops sending to that upstream', async () => {
    a.mode = 'reset';
    // Open for an hour: however slowly the 12 requests go, the circuit never half-opens during the test.
    const client = await start({ circuitBreaker: { failures: 3, openSeconds: 3600 } });
    for (let i = 0; i < 12; i++) {
      await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] });
    }
    // Sequential requests prefer gpu-a (listed first, nothing in flight) until its circuit opens.
    expect(a.requests.length).toBe(3);
    expect(b.requests.length).toBe(12);
    const ready = await fetch(`${hunze!.url}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('takes an upstream whose health check fails out of rotation, and back when it recovers', async () => {
    const client = await start({ healthCheck: { intervalSeconds: 0.2, timeoutMs: 500 } });
    a.healthy = false;
    // Out of rotation once Hunze has read a failed probe (a probe that has only arrived may not have).
    await waitFor(
      async () =>
        (await (await fetch(`${hunze!.url}/metrics`)).text()).includes(
          'hunze_upstream_up{upstream="gpu-a"} 0',
        ),
      30_000,
    );
    const before = a.requests.filter((r) => r.method === 'POST').length;
    for (let i = 0; i < 5; i++) {
      await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] });
    }
    expect(a.requests.filter((r) => r.method === 'POST').length).toBe(before);
    a.healthy = true;
    await waitFor(
      async () => {
        await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] });
        return a.requests.some((r) => r.method === 'POST');
      },
      30_000,
      100,
    );
  });

  it('sends concurrent requests to the upstream with fewest in flight (the slow one gets fewer)', async () => {
    // a holds its answer until the test is done, b answers at once. Sent all at once, the split would depend
    // on how fast b answers compared with how fast requests arrive; here a has one in flight throughout.
    a.firstByteDelayMs = 60_000;
    const client = await start({ timeouts: { firstByteMs: 120_000 } });
    const ask = (signal?: AbortSignal) =>
      client.chat.completions.create(
        { model: MODEL, messages: [{ role: 'user', content: 'x' }] },
        { signal },
      );
    const held = new AbortController();
    const slow = ask(held.signal).catch(() => undefined); // nothing in flight anywhere: gpu-a, listed first
    await waitFor(async () => a.requests.length === 1, 30_000);
    for (let i = 0; i < 9; i++) await ask();
    expect(a.inFlight).toBe(1);
    held.abort();
    await slow;
    expect(a.requests).toHaveLength(1);
    expect(b.requests).toHaveLength(9);
  });
});
