// The guarded Redis connector, with the real Redis at 127.0.0.1:6379 reached through a host name only the
// injected resolver knows: each connect and reconnect is checked, a refusal opens nothing, is logged and
// published (the audit log records what residencyEvents publishes) and ioredis retries, checking again.
// TLS keeps the host name for SNI and the certificate check while the socket goes to the pinned address.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import type Redis from 'ioredis';
import { certificateAuthority, issueCertificate } from '../../test/helpers/certificates';
import { passedChecks, type PassedCheck } from './passed-checks';
import { ResidencyViolationError, residencyEvents, type ResidencyViolation } from './residency-connector';
import { guardedRedis } from './residency-redis-connector';
import { loopbackGuard, StoreGuard, type StoreGuardHooks } from './store-guard';

/** `cache.test` resolves to whatever `answer` holds at the time of the lookup. */
function switchableResolver(answer: { address: string }): NonNullable<StoreGuardHooks['resolve']> {
  return (host) =>
    host === 'cache.test'
      ? Promise.resolve([{ address: answer.address, family: 4 }])
      : Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }));
}

function next<T>(subscribe: (listener: (value: T) => void) => () => void): Promise<T> {
  return new Promise((resolve) => {
    const stop = subscribe((value) => {
      stop();
      resolve(value);
    });
  });
}

describe('residency on Redis connections', () => {
  const passes: PassedCheck[] = [];
  const violations: ResidencyViolation[] = [];
  const stops: (() => void)[] = [];
  const clients: Redis[] = [];
  beforeAll(() => {
    stops.push(passedChecks.subscribe((p) => passes.push(p)));
    stops.push(residencyEvents.subscribe((v) => violations.push(v)));
  });
  afterAll(() => stops.forEach((stop) => stop()));
  beforeEach(() => {
    passes.length = 0;
    violations.length = 0;
  });
  afterEach(() => clients.splice(0).forEach((client) => client.disconnect()));

  it('connects to the checked address; a refused reconnect is logged, published and retried until allowed again', async () => {
    const answer = { address: '127.0.0.1' };
    const warnings: [string, unknown][] = [];
    const log = { warn: (evt: string, fields?: unknown) => void warnings.push([evt, fields]) };
    const guard = loopbackGuard('redis', { resolve: switchableResolver(answer), log });
    const errors: Error[] = [];
    const redis = guardedRedis(
      'redis://cache.test:6379',
      { lazyConnect: true, retryStrategy: () => 20 },
      guard,
    );
    clients.push(redis);
    redis.on('error', (err: Error) => errors.push(err));
    await redis.connect();
    await expect(redis.ping()).resolves.toBe('PONG');
    expect(passes).toEqual([{ destination: 'redis', address: '127.0.0.1', port: 6379 }]);

    answer.address = '192.0.2.20'; // the name now points off the appliance
    const refused = next<ResidencyViolation>((l) => residencyEvents.subscribe(l));
    redis.disconnect(true); // drop the connection; ioredis reconnects
    const violation = { upstream: 'redis', reason: 'outside_networks', family: 4, address: '192.0.2.20' };
    await expect(refused).resolves.toEqual(violation);
    expect(warnings[0]).toEqual(['residency_violation', violation]);
    await new Promise<void>((resolve) =>
      errors.length > 0 ? resolve() : redis.once('error', () => resolve()),
    );
    expect(errors[0]).toBeInstanceOf(ResidencyViolationError);
    expect(passes).toHaveLength(1);

    const ready = new Promise<void>((resolve) => redis.once('ready', resolve));
    answer.address = '127.0.0.1'; // back home: the next retry passes
    await ready;
    await expect(redis.ping()).resolves.toBe('PONG');
    expect(passes.length).toBeGreaterThanOrEqual(2);
    expect(passes.every((p) => p.address === '127.0.0.1')).toBe(true);
  });

  it('a refused address never opens: the listener sees no connection', async () => {
    let connections = 0;
    const server: Server = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const guard = new StoreGuard('redis', { networks: ['127.0.0.2/32'], country: 'NL' });
      const redis = guardedRedis(
        `redis://127.0.0.1:${port}`,
        { lazyConnect: true, retryStrategy: () => null },
        guard,
      );
      clients.push(redis);
      const error = new Promise<Error>((resolve) => redis.once('error', resolve));
      await expect(redis.connect()).rejects.toThrow();
      await expect(error).resolves.toBeInstanceOf(ResidencyViolationError);
      expect(violations).toEqual([
        { upstream: 'redis', reason: 'outside_networks', family: 4, address: '127.0.0.1' },
      ]);
      expect(connections).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('rediss:// sends the host name as SNI and verifies the certificate for it, on the pinned address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hunze-redis-tls-'));
    const ca = certificateAuthority(dir, 'ca', 'Hunze Test CA');
    const cert = issueCertificate(dir, 'cache', ca, { commonName: 'cache.test', dnsNames: ['cache.test'] });
    const names: (string | false | null)[] = [];
    // Answers like Redis would, just enough: PONG to PING, OK to anything else (ioredis's CLIENT SETINFO).
    const server = createTlsServer({ cert: cert.cert, key: cert.key }, (socket) => {
      names.push(socket.servername);
      socket.on('data', (chunk: Buffer) => {
        for (const [, command] of chunk.toString('latin1').matchAll(/\*\d+\r\n\$\d+\r\n(\w+)/g))
          socket.write(command!.toUpperCase() === 'PING' ? '+PONG\r\n' : '+OK\r\n');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const guard = loopbackGuard('redis', { resolve: switchableResolver({ address: '127.0.0.1' }) });
      const redis = guardedRedis(
        `rediss://cache.test:${port}`,
        { lazyConnect: true, enableReadyCheck: false, retryStrategy: () => null, tls: { ca: ca.cert } },
        guard,
      );
      clients.push(redis);
      redis.on('error', () => undefined);
      await redis.connect();
      await expect(redis.ping()).resolves.toBe('PONG');
      expect(names).toEqual(['cache.test']);
      expect(passes).toEqual([{ destination: 'redis', address: '127.0.0.1', port }]);
    } finally {
      clients.splice(0).forEach((client) => client.disconnect());
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
