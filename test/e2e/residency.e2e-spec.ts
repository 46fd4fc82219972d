// A misdeclared network never receives a byte: the residency guard checks the upstream's address at connect
// time, before any socket opens, and the client gets 503 residency_violation. Redirects are never followed.
// Only 127.0.0.1 is ever contacted; the "wrong network" upstreams are loopback servers declared elsewhere.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { residencyEvents, type ResidencyViolation } from '../../src/residency/residency-connector';
import { FakeVllm } from '../fakes/fake-vllm';
import { openAiErrorOf, send } from '../helpers/raw-http';
import { startTestApp, type TestApp, type TestUpstream } from '../helpers/test-app';
import { tripwire, type Tripwire } from '../helpers/tripwire';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';

describe('residency guard at connect time', () => {
  let fake: FakeVllm;
  let wire: Tripwire;
  let hunze: TestApp | undefined;
  let key: string;
  const violations: ResidencyViolation[] = [];
  let unsubscribe: () => void;

  beforeAll(() => {
    unsubscribe = residencyEvents.subscribe((v) => violations.push(v));
  });
  afterAll(() => unsubscribe());

  beforeEach(async () => {
    fake = await FakeVllm.start({ modelName: MODEL });
    wire = await tripwire({ hangUp: true });
    violations.length = 0;
  });

  afterEach(async () => {
    await hunze?.close();
    hunze = undefined;
    await fake.close();
    await wire.close();
  });

  async function start(upstreams: TestUpstream[]) {
    hunze = await startTestApp({ upstreams, models: [{ id: MODEL, upstreams: upstreams.map((u) => u.id) }] });
    key = (await hunze.createKey()).key;
  }

  function chat(stream = false) {
    return send(`${hunze!.baseURL}/chat/completions`, {
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], stream }),
    });
  }

  it('refuses an upstream whose address lies outside its declared networks: 503, nothing sent', async () => {
    await start([
      {
        id: 'misdeclared',
        baseUrl: `http://127.0.0.1:${wire.port}/v1`,
        networks: ['10.20.0.0/24'],
        circuitBreaker: { failures: 2, openSeconds: 60 },
      },
    ]);
    // More requests than the breaker tolerates: the open circuit must not turn it into upstream_unavailable.
    for (const stream of [false, true, false, false]) {
      const res = await chat(stream);
      expect(res.status).toBe(503);
      expect(openAiErrorOf(res).code).toBe('residency_violation');
    }
    expect(wire.connections).toBe(0);
    expect(wire.bytes).toBe(0);
    expect(violations.length).toBeGreaterThanOrEqual(2);
    expect(violations[0]).toEqual({
      upstream: 'misdeclared',
      reason: 'outside_networks',
      family: 4,
      address: '127.0.0.1',
    });
    const logged = hunze!.logLines.filter((l) => l.includes('"evt":"residency_violation"'));
    expect(logged.length).toBe(violations.length);
    expect(JSON.parse(logged[0]!)).toMatchObject({
      evt: 'residency_violation',
      upstream: 'misdeclared',
      reason: 'outside_networks',
      family: 4,
    });
    const records = hunze!.logLines.filter((l) => l.includes('"evt":"request"'));
    expect(records.some((l) => l.includes('"residency_violation"'))).toBe(true);
  });

  it('serves through an upstream whose address lies inside its declared networks', async () => {
    await start([{ id: 'local', baseUrl: fake.baseUrl, networks: ['127.0.0.0/8'] }]);
    const res = await chat();
    expect(res.status).toBe(200);
    expect(fake.requests.length).toBe(1);
    expect(violations).toEqual([]);
  });

  it('fails over past a refused upstream to one of the same model that passes', async () => {
    await start([
      { id: 'misdeclared', baseUrl: `http://127.0.0.1:${wire.port}/v1`, networks: ['10.20.0.0/24'] },
      { id: 'local', baseUrl: fake.baseUrl, networks: ['127.0.0.1/32'] },
    ]);
    for (const stream of [false, true]) {
      const res = await chat(stream);
      expect(res.status).toBe(200);
    }
    expect(fake.requests.length).toBe(2);
    expect(wire.connections).toBe(0);
    expect(violations.every((v) => v.upstream === 'misdeclared')).toBe(true);
  });

  describe('redirects', () => {
    let redirector: HttpServer;
    let port: number;

    beforeEach(async () => {
      redirector = createHttpServer((req, res) => {
        req.resume();
        res.writeHead(302, { location: `${fake.baseUrl}/chat/completions` }).end();
      });
      await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
      port = (redirector.address() as { port: number }).port;
    });
    afterEach(async () => {
      redirector.closeAllConnections();
      await new Promise((resolve) => redirector.close(resolve));
    });

    it('never follows a redirect: 502 upstream_error and the Location target receives nothing', async () => {
      await start([{ id: 'redirecting', baseUrl: `http://127.0.0.1:${port}/v1` }]);
      for (const stream of [false, true]) {
        const res = await chat(stream);
        expect(res.status).toBe(502);
        expect(openAiErrorOf(res).code).toBe('upstream_error');
      }
      expect(fake.requests.length).toBe(0);
    });
  });
});
