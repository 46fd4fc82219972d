// The relay over real upstream targets (node:http servers on port 0) with the signal requests get
// (http/client-signal.ts): a client that goes away stops the upstream request at once, after a failover
// too, for whole answers and for streams.
import 'reflect-metadata';
import { once } from 'node:events';
import http from 'node:http';
import { finished } from 'node:stream/promises';
import type { AddressInfo } from 'node:net';
import { UpstreamConfig } from '../config/config.schema';
import type { CallContext } from '../core/call-context';
import type { ResolvedModel } from '../models/model-registry.service';
import { ClientSignal } from '../http/client-signal';
import { Relay } from './relay';
import type { UpstreamPools } from './upstream-pools.service';
import type { StreamResult } from './upstream-result';
import { UpstreamTarget } from './upstream-target';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** An upstream that answers every request with `handler` once its body is in. */
async function upstream(id: string, handler: (res: http.ServerResponse) => void) {
  const server = http.createServer((req, res) => {
    req.resume().on('end', () => {
      server.emit('seen', res);
      handler(res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const config = Object.assign(new UpstreamConfig(), {
    id,
    baseUrl: `http://127.0.0.1:${port}/v1`,
    location: { country: 'NL' },
    operator: { name: 'Test Hosting B.V.', country: 'NL' },
    networks: ['127.0.0.0/8'],
    // Far beyond the test: only the client's abort can end a held request.
    timeouts: { connectMs: 60_000, firstByteMs: 60_000, idleMs: 60_000 },
  });
  const target = new UpstreamTarget(config);
  closers.push(
    () => target.pool.destroy(),
    () => {
      server.closeAllConnections();
      server.close();
    },
  );
  return { server, target };
}

const model = {
  id: 'qwen',
  upstreams: [],
  config: { retries: { attempts: 0, backoffMs: 100 } },
} as unknown as ResolvedModel;

describe('Relay cancellation over real upstreams', () => {
  it.each([false, true])(
    'stops the upstream request within milliseconds when the client goes away after a failover (stream: %s)',
    async (stream) => {
      const down = await upstream('down', (res) => res.writeHead(503).end());
      const held = await upstream('held', (res) =>
        stream
          ? res.writeHead(200, { 'content-type': 'text/event-stream' }).write('data: {}\n\n')
          : undefined,
      );
      const pools = { candidates: () => [down.target, held.target] } as unknown as UpstreamPools;
      const signal = new ClientSignal();
      const ctx: CallContext = {
        requestId: 'req-1',
        principal: { keyId: 'k1' } as CallContext['principal'],
        signal,
        facts: { startedAt: process.hrtime.bigint() },
      };
      const arrived = once(held.server, 'seen') as Promise<[http.ServerResponse]>;
      const result = new Relay(pools)
        .send({ path: '/chat/completions', model, body: '{"model":"qwen"}', stream }, ctx)
        .catch((err: unknown) => err);
      const [res] = await arrived;
      const upstreamClosed = once(res, 'close');
      const streamed = stream ? ((await result) as StreamResult) : undefined; // the client is reading it
      const abortedAt = Date.now();
      signal.abort();
      await upstreamClosed;
      expect(Date.now() - abortedAt).toBeLessThan(1000);
      expect(ctx.facts).toMatchObject({ upstream: 'held', failovers: 1 });
      if (streamed)
        await finished(streamed.events).catch(() => undefined); // destroyed by the abort
      else expect(await result).toMatchObject({ code: 'upstream_connection_failed' });
      expect(held.target.inFlight).toBe(0);
      expect(held.target.circuitState).toBe('closed');
    },
  );
});
