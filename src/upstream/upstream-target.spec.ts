// One upstream target against real node:http servers on port 0 (127.0.0.1, inside the declared loopback
// network, so the residency guard lets the connection through): where requests go, what counts as a failure,
// timeouts, cancellation, the circuit breaker, health probes, and the catalogue codes failures map to.
import 'reflect-metadata';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError } from '../core/errors';
import type { CancelSignal } from '../core/request-context';
import { ClientSignal } from '../http/client-signal';
import { UpstreamConfig } from '../config/config.schema';
import { fromTransportError, fromUpstreamStatus, isAbort } from './upstream-errors';
import { BrokenCircuitError, UpstreamStatusError, UpstreamTarget } from './upstream-target';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A fake upstream: records every request, answers with `handler` once the body is read. */
async function fakeUpstream(handler: (req: Seen, res: http.ServerResponse) => void) {
  const requests: Seen[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      const seen = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(parts).toString(),
      };
      requests.push(seen);
      server.emit('seen', seen, res);
      handler(seen, res);
    });
  });
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    origin: `http://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

const servers: { close: () => void }[] = [];
const targets: UpstreamTarget[] = [];
afterEach(async () => {
  await Promise.all(targets.splice(0).map((t) => t.pool.destroy()));
  servers.splice(0).forEach((s) => s.close());
});

async function upstream(handler: (req: Seen, res: http.ServerResponse) => void) {
  const fake = await fakeUpstream(handler);
  servers.push(fake);
  return fake;
}

function target(baseUrl: string, overrides: Partial<UpstreamConfig> = {}): UpstreamTarget {
  const config = Object.assign(
    new UpstreamConfig(),
    {
      id: 'u1',
      baseUrl,
      location: { country: 'NL' },
      operator: { name: 'Test Hosting B.V.', country: 'NL' },
      networks: ['127.0.0.0/8'],
    },
    overrides,
  );
  const made = new UpstreamTarget(config);
  targets.push(made);
  return made;
}

const send = (t: UpstreamTarget, signal: CancelSignal = new AbortController().signal) =>
  t.send({
    path: '/chat/completions',
    body: '{"model":"m"}',
    headers: { 'content-type': 'application/json' },
    signal,
  });

/** The rejection of a promise that must reject. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

const answer =
  (status: number, body = '{"ok":true}') =>
  (_req: Seen, res: http.ServerResponse) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);

describe('UpstreamTarget.send', () => {
  it('posts to the base URL path joined with the endpoint path, with its own key replacing the client one', async () => {
    const fake = await upstream(answer(200));
    const t = target(`${fake.origin}/v1/`, { apiKey: 'upstream-secret' });
    const response = await t.send({
      path: '/chat/completions',
      body: '{"model":"m"}',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer client-key',
        'x-request-id': 'r1',
      },
      signal: new AbortController().signal,
    });
    expect(response.statusCode).toBe(200);
    expect(await response.body.json()).toEqual({ ok: true });
    expect(fake.requests).toEqual([
      expect.objectContaining({ method: 'POST', url: '/v1/chat/completions', body: '{"model":"m"}' }),
    ]);
    expect(fake.requests[0]!.headers).toMatchObject({
      authorization: 'Bearer upstream-secret',
      'x-request-id': 'r1',
      'content-type': 'application/json',
    });
  });

  it('adds no authorization when the upstream has no key, and sends each target to its own origin', async () => {
    const [a, b] = [await upstream(answer(200, '"a"')), await upstream(answer(200, '"b"'))];
    const ta = target(`${a.origin}/v1`);
    const tb = target(`${b.origin}/openai/v1`, { id: 'u2' });
    await expect((await send(ta)).body.json()).resolves.toBe('a');
    await expect((await send(tb)).body.json()).resolves.toBe('b');
    expect(a.requests.map((r) => r.url)).toEqual(['/v1/chat/completions']);
    expect(b.requests.map((r) => r.url)).toEqual(['/openai/v1/chat/completions']);
    expect(a.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('hands 4xx answers back (the request was at fault) and turns 5xx, 408 and 429 into UpstreamStatusError', async () => {
    let status = 422;
    const fake = await upstream((req, res) => answer(status)(req, res));
    const t = target(`${fake.origin}/v1`, { circuitBreaker: { failures: 100, openSeconds: 10 } });
    expect((await send(t)).statusCode).toBe(422);
    for (const failing of [500, 502, 503, 504, 408, 429]) {
      status = failing;
      const err = await rejection(send(t));
      expect(err).toBeInstanceOf(UpstreamStatusError);
      expect((err as UpstreamStatusError).status).toBe(failing);
    }
    expect(fromUpstreamStatus(503).code).toBe('upstream_overloaded');
    expect(fromUpstreamStatus(504).code).toBe('upstream_timeout');
    expect(fromUpstreamStatus(500).code).toBe('upstream_error');
  });

  it("keeps a 429's or 503's retry-after for the retry policy, and no other status's", async () => {
    let status = 503;
    const fake = await upstream((_req, res) => res.writeHead(status, { 'retry-after': '2' }).end());
    const t = target(`${fake.origin}/v1`, { circuitBreaker: { failures: 100, openSeconds: 10 } });
    for (const [failing, wait] of [
      [503, 2000],
      [429, 2000],
      [500, undefined],
      [502, undefined],
    ] as const) {
      status = failing;
      const err = (await rejection(send(t))) as UpstreamStatusError;
      expect([err.status, err.retryAfterMs]).toEqual([failing, wait]);
    }
  });

  // In both timeout tests the other timeout is beyond the test's own bound: only the one named can end it.
  it('times out waiting for response headers (firstByteMs): upstream_timeout', async () => {
    const fake = await upstream(() => undefined); // reads the request, never answers
    const t = target(`${fake.origin}/v1`, {
      timeouts: { connectMs: 5_000, firstByteMs: 100, idleMs: 600_000 },
    });
    const err = await rejection(send(t));
    expect((err as { code?: string }).code).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect(fromTransportError(err).code).toBe('upstream_timeout');
  });

  it('times out between two body chunks (idleMs): upstream_timeout', async () => {
    const fake = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"partial":true}\n\n'); // then silence
    });
    const t = target(`${fake.origin}/v1`, {
      timeouts: { connectMs: 5_000, firstByteMs: 600_000, idleMs: 100 },
    });
    const response = await send(t);
    const err = await rejection(response.body.text());
    expect((err as { code?: string }).code).toBe('UND_ERR_BODY_TIMEOUT');
    expect(fromTransportError(err).code).toBe('upstream_timeout');
  });

  it('maps a refused connection to upstream_unavailable', async () => {
    const gone = await upstream(answer(200));
    gone.close(); // the port is free again: nothing listens there
    await once(gone.server, 'close');
    const t = target(`${gone.origin}/v1`);
    const err = await rejection(send(t));
    expect((err as { code?: string }).code).toBe('ECONNREFUSED');
    expect(fromTransportError(err)).toEqual(new ApiError('upstream_unavailable'));
  });

  it('maps a connection reset before the answer to upstream_connection_failed', async () => {
    const fake = await upstream((_req, res) => res.socket?.destroy());
    const err = await rejection(send(target(`${fake.origin}/v1`)));
    expect(fromTransportError(err).code).toBe('upstream_connection_failed');
  });

  /** Both kinds of signal undici takes: requests get the EventEmitter (http/client-signal.ts). */
  const signals: [string, () => { signal: CancelSignal; abort: () => void }][] = [
    [
      'an AbortSignal',
      () => {
        const controller = new AbortController();
        return { signal: controller.signal, abort: () => controller.abort() };
      },
    ],
    [
      'a ClientSignal',
      () => {
        const signal = new ClientSignal();
        return { signal, abort: () => signal.abort() };
      },
    ],
  ];

  it.each(signals)(
    'stops the upstream request when the client aborts (%s), without counting it against the upstream',
    async (_kind, makeSignal) => {
      const fake = await upstream(() => undefined);
      const t = target(`${fake.origin}/v1`, { circuitBreaker: { failures: 1, openSeconds: 60 } });
      const client = makeSignal();
      const arrived = once(fake.server, 'seen') as Promise<[Seen, http.ServerResponse]>;
      const pending = rejection(send(t, client.signal));
      const [, res] = await arrived;
      const upstreamClosed = once(res, 'close');
      client.abort();
      expect(isAbort(await pending)).toBe(true);
      await upstreamClosed; // the upstream saw the connection go
      expect(t.circuitState).toBe('closed');
      expect(t.available).toBe(true);
    },
  );

  it.each(signals)(
    'stops reading an answer mid-body when the client aborts (%s)',
    async (_kind, makeSignal) => {
      const fake = await upstream((_req, res) => res.writeHead(200).write('data: {}\n\n'));
      const t = target(`${fake.origin}/v1`);
      const client = makeSignal();
      const arrived = once(fake.server, 'seen') as Promise<[Seen, http.ServerResponse]>;
      const response = await send(t, client.signal);
      const [, res] = await arrived;
      const upstreamClosed = once(res, 'close');
      const read = rejection(response.body.text());
      client.abort();
      expect(isAbort(await read)).toBe(true);
      await upstreamClosed;
    },
  );

  it.each(signals)('sends nothing when the client is gone already (%s)', async (_kind, makeSignal) => {
    const fake = await upstream(answer(200));
    const t = target(`${fake.origin}/v1`);
    const client = makeSignal();
    client.abort();
    expect(isAbort(await rejection(send(t, client.signal)))).toBe(true);
    expect(fake.requests).toHaveLength(0);
  });
});

describe('UpstreamTarget circuit breaker', () => {
  it('opens after the configured consecutive failures and then refuses without a request', async () => {
    const fake = await upstream(answer(500));
    const t = target(`${fake.origin}/v1`, { circuitBreaker: { failures: 2, openSeconds: 60 } });
    await rejection(send(t));
    expect(t.circuitState).toBe('closed');
    await rejection(send(t));
    expect(t.circuitState).toBe('open');
    expect(t.available).toBe(false);
    expect(await rejection(send(t))).toBeInstanceOf(BrokenCircuitError);
    expect(fake.requests).toHaveLength(2);
  });

  it('counts 4xx answers as successes and mid-stream failures as failures', async () => {
    let status = 500;
    const fake = await upstream((req, res) => answer(status)(req, res));
    const t = target(`${fake.origin}/v1`, { circuitBreaker: { failures: 2, openSeconds: 60 } });
    await rejection(send(t));
    status = 400;
    await (await send(t)).body.dump(); // breaks the run of failures
    status = 500;
    await rejection(send(t));
    expect(t.circuitState).toBe('closed');
    t.recordStreamFailure();
    await new Promise((resolve) => setImmediate(resolve)); // the breaker takes the failure asynchronously
    expect(t.circuitState).toBe('open');
    expect(await rejection(send(t))).toBeInstanceOf(BrokenCircuitError);
    expect(fake.requests).toHaveLength(3);
  });
});

describe('UpstreamTarget residency', () => {
  it('records the checked address when the upstream lies in its declared networks', async () => {
    const fake = await upstream(answer(200));
    const t = target(`${fake.origin}/v1`);
    expect(t.residencyCheck).toBeNull();
    await (await send(t)).body.dump();
    expect(t.residencyCheck).toMatchObject({ passed: true, address: '127.0.0.1' });
    expect(t.residencyRefused).toBeNull();
  });

  it('refuses to connect outside the declared networks: residency_violation, not a byte sent', async () => {
    const fake = await upstream(answer(200));
    const t = target(`${fake.origin}/v1`, { networks: ['10.0.0.0/8'] });
    const err = await rejection(send(t));
    expect(fromTransportError(err)).toEqual(new ApiError('residency_violation'));
    expect(t.residencyRefused).toMatchObject({
      upstream: 'u1',
      reason: 'outside_networks',
      address: '127.0.0.1',
    });
    expect(t.residencyCheck).toMatchObject({ passed: false, reason: 'outside_networks' });
    expect(fake.connections()).toBe(0);
  });
});

describe('UpstreamTarget.probe', () => {
  it('is healthy on a 2xx from the health path and unhealthy on anything else or no answer', async () => {
    let status = 200;
    const fake = await upstream((req, res) => answer(status)(req, res));
    const t = target(`${fake.origin}/v1`, {
      healthCheck: { path: '/health', intervalSeconds: 10, timeoutMs: 5_000 },
    });
    await t.probe();
    expect(t.probeHealthy).toBe(true);
    expect(t.lastProbeAt).toBeInstanceOf(Date);
    expect(fake.requests.at(-1)).toMatchObject({ method: 'GET', url: '/health' });
    status = 503;
    await t.probe();
    expect(t.probeHealthy).toBe(false);
    expect(t.available).toBe(false);
    status = 204;
    await t.probe();
    expect(t.available).toBe(true);
    fake.close();
    await once(fake.server, 'close');
    await t.probe();
    expect(t.probeHealthy).toBe(false);
  });
});
