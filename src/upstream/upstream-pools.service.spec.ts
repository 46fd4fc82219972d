// The set of upstream targets: one per configured upstream, the order a model's upstreams are tried in
// (available first, then fewest in flight, then as configured), health probes at bootstrap, residency
// refusals logged and published, and every pool closed at shutdown. Fake upstreams are node:http servers
// on port 0 (127.0.0.1, inside the declared loopback network).
import 'reflect-metadata';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { residencyEvents, type ResidencyViolation } from '../residency/residency-connector';
import { UpstreamConfig } from '../config/config.schema';
import type { HunzeConfig } from '../config/hunze-config';
import { MetricsService } from '../metering/metrics.service';
import type { ResolvedModel } from '../models/model-registry.service';
import { AppLogger } from '../telemetry/logger';
import { UpstreamPools } from './upstream-pools.service';

/** A fake upstream answering every request with `status`; counts the requests per path. */
async function fakeUpstream(status: () => number) {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(`${req.method} ${req.url}`);
    server.emit('seen', req.url);
    req.resume().on('end', () => res.writeHead(status(), { 'content-type': 'application/json' }).end('{}'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    paths,
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => (server.closeAllConnections(), server.close()),
  };
}

type Fake = Awaited<ReturnType<typeof fakeUpstream>>;

const upstreamConfig = (id: string, origin: string, overrides: Partial<UpstreamConfig> = {}) =>
  Object.assign(
    new UpstreamConfig(),
    {
      id,
      baseUrl: `${origin}/v1`,
      location: { country: 'NL' },
      operator: { name: 'Test Hosting B.V.', country: 'NL' },
      networks: ['127.0.0.0/8'],
      healthCheck: { path: '/health', intervalSeconds: 0, timeoutMs: 5_000 },
    },
    overrides,
  );

const model = (...upstreams: string[]) =>
  ({ id: 'm', upstreams: upstreams.map((id) => ({ id })) }) as unknown as ResolvedModel;

const fakes: Fake[] = [];
const sets: UpstreamPools[] = [];
afterEach(async () => {
  await Promise.all(sets.splice(0).map((s) => s.onApplicationShutdown()));
  fakes.splice(0).forEach((f) => f.close());
});

async function fake(status: () => number = () => 200): Promise<Fake> {
  const made = await fakeUpstream(status);
  fakes.push(made);
  return made;
}

function pools(upstreams: UpstreamConfig[]) {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) });
  const config = { file: { upstreams }, upstreamCas: new Map<string, string>() } as unknown as HunzeConfig;
  const set = new UpstreamPools(config, new AppLogger('info', sink), new MetricsService());
  sets.push(set);
  return { set, lines };
}

const ids = (targets: { id: string }[]) => targets.map((t) => t.id);

describe('UpstreamPools', () => {
  it('holds one target per configured upstream, each sending to its own base URL', async () => {
    const [a, b] = [await fake(), await fake()];
    const { set } = pools([upstreamConfig('a', a.origin), upstreamConfig('b', b.origin)]);
    expect(ids(set.all())).toEqual(['a', 'b']);
    expect(set.get('missing')).toBeUndefined();
    const signal = new AbortController().signal;
    for (const id of ['b', 'a', 'b']) {
      const response = await set.get(id)!.send({ path: '/embeddings', body: '{}', headers: {}, signal });
      await response.body.dump();
    }
    expect(a.paths).toEqual(['POST /v1/embeddings']);
    expect(b.paths).toEqual(['POST /v1/embeddings', 'POST /v1/embeddings']);
  });

  it('orders candidates: available first, then fewest requests in flight, then the configured order', async () => {
    let bHealth = 200;
    const [a, b, c] = [await fake(), await fake(() => bHealth), await fake()];
    const { set } = pools([
      upstreamConfig('a', a.origin),
      upstreamConfig('b', b.origin),
      upstreamConfig('c', c.origin),
    ]);
    expect(ids(set.candidates(model('a', 'b', 'c')))).toEqual(['a', 'b', 'c']);
    expect(ids(set.candidates(model('c', 'a')))).toEqual(['c', 'a']); // the model's order, not the config's
    set.get('a')!.inFlight = 2;
    set.get('c')!.inFlight = 1;
    expect(ids(set.candidates(model('a', 'b', 'c')))).toEqual(['b', 'c', 'a']);
    bHealth = 503;
    await set.get('b')!.probe(); // b's health check fails: tried last, however idle
    expect(ids(set.candidates(model('a', 'b', 'c')))).toEqual(['c', 'a', 'b']);
    expect(ids(set.candidates(model('b')))).toEqual(['b']); // the only one is still tried
  });

  it('serves every model only while each has an available upstream', async () => {
    let health = 200;
    const [a, b] = [await fake(), await fake(() => health)];
    const { set } = pools([upstreamConfig('a', a.origin), upstreamConfig('b', b.origin)]);
    const models = [model('a', 'b'), model('b')];
    expect(set.allModelsServed(models)).toBe(true);
    health = 500;
    await set.get('b')!.probe();
    expect(set.allModelsServed([model('a', 'b')])).toBe(true);
    expect(set.allModelsServed(models)).toBe(false);
  });

  it('probes at bootstrap the upstreams whose health checks are on, and only those', async () => {
    const [on, off] = [await fake(), await fake()];
    const { set } = pools([
      upstreamConfig('on', on.origin, {
        healthCheck: { path: '/healthz', intervalSeconds: 3600, timeoutMs: 5_000 },
      }),
      upstreamConfig('off', off.origin),
    ]);
    const probes = { on: jest.spyOn(set.get('on')!, 'probe'), off: jest.spyOn(set.get('off')!, 'probe') };
    const probed = once(on.server, 'seen');
    set.onApplicationBootstrap();
    expect(await probed).toEqual(['/healthz']);
    expect(probes.on).toHaveBeenCalledTimes(1);
    expect(probes.off).not.toHaveBeenCalled();
  });

  it('logs and publishes a residency refusal, naming the upstream and the refused address', async () => {
    const a = await fake();
    const { set, lines } = pools([upstreamConfig('far', a.origin, { networks: ['10.0.0.0/8'] })]);
    const heard: ResidencyViolation[] = [];
    const unsubscribe = residencyEvents.subscribe((v) => heard.push(v));
    try {
      const signal = new AbortController().signal;
      await expect(
        set.get('far')!.send({ path: '/x', body: '{}', headers: {}, signal }),
      ).rejects.toMatchObject({
        code: 'HUNZE_RESIDENCY',
      });
    } finally {
      unsubscribe();
    }
    expect(heard).toEqual([{ upstream: 'far', reason: 'outside_networks', family: 4, address: '127.0.0.1' }]);
    expect(lines.join('')).toContain('"evt":"residency_violation"');
    expect(a.paths).toEqual([]);
  });

  it('closes every pool at shutdown: no request goes out afterwards', async () => {
    const a = await fake();
    const { set } = pools([upstreamConfig('a', a.origin)]);
    await set.onApplicationShutdown();
    const signal = new AbortController().signal;
    await expect(set.get('a')!.send({ path: '/x', body: '{}', headers: {}, signal })).rejects.toMatchObject({
      code: 'UND_ERR_DESTROYED',
    });
    expect(a.paths).toEqual([]);
    sets.splice(sets.indexOf(set), 1);
  });
});
