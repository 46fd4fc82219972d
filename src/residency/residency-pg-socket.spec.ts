// The guarded PostgreSQL socket: a checked address is connected to (pinned), a refused one never opens, and
// node-postgres sees a refusal as a connection error, on its first connect and on every later one (the
// LISTEN client and the pool each open new connections; each is checked). Against the real PostgreSQL at
// 127.0.0.1:5432, reached through a host name only the injected resolver knows.
import { createServer, type Server } from 'node:net';
import { Client } from 'pg';
import { passedChecks, type PassedCheck } from './passed-checks';
import { ResidencyViolationError, residencyEvents, type ResidencyViolation } from './residency-connector';
import { loopbackGuard, StoreGuard, type StoreGuardHooks } from './store-guard';
import { ResidencyPgSocket, residencyPgStream } from './residency-pg-socket';

const PG_URL = new URL('postgres://postgres@127.0.0.1:5432/postgres');

/** A TCP listener that only counts connections. */
async function listener(): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, connections: () => connections };
}

/** `db.test` resolves to whatever `answer` holds at the time of the lookup. */
function switchableResolver(answer: { address: string }): NonNullable<StoreGuardHooks['resolve']> {
  return (host) =>
    host === 'db.test'
      ? Promise.resolve([{ address: answer.address, family: 4 }])
      : Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }));
}

describe('residency on PostgreSQL connections', () => {
  const violations: ResidencyViolation[] = [];
  const passes: PassedCheck[] = [];
  const stops: (() => void)[] = [];
  beforeAll(() => {
    stops.push(residencyEvents.subscribe((v) => violations.push(v)));
    stops.push(passedChecks.subscribe((p) => passes.push(p)));
  });
  afterAll(() => stops.forEach((stop) => stop()));
  beforeEach(() => {
    violations.length = 0;
    passes.length = 0;
  });

  it('connects to the checked address (pinned: the host is looked up once, by the guard)', async () => {
    const target = await listener();
    try {
      const socket = new ResidencyPgSocket(
        loopbackGuard('database', { resolve: switchableResolver({ address: '127.0.0.1' }) }),
      );
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve).once('error', reject);
        socket.connect(target.port, 'db.test');
      });
      expect(socket.remoteAddress).toBe('127.0.0.1');
      socket.destroy();
      expect(passes).toEqual([{ destination: 'database', address: '127.0.0.1', port: target.port }]);
    } finally {
      await new Promise((resolve) => target.server.close(resolve));
    }
  });

  it('a refused address never opens: the socket fails with ResidencyViolationError and the listener sees nothing', async () => {
    const target = await listener();
    try {
      const guard = new StoreGuard('database', { networks: ['127.0.0.2/32'], country: 'NL' });
      const socket = new ResidencyPgSocket(guard);
      const error = await new Promise<Error>((resolve) => {
        socket.once('error', resolve);
        socket.connect(target.port, '127.0.0.1');
      });
      expect(error).toBeInstanceOf(ResidencyViolationError);
      expect(socket.destroyed).toBe(true);
      expect(target.connections()).toBe(0);
      expect(violations).toEqual([
        { upstream: 'database', reason: 'outside_networks', family: 4, address: '127.0.0.1' },
      ]);
    } finally {
      await new Promise((resolve) => target.server.close(resolve));
    }
  });

  it('node-postgres: each connect is checked again; a refusal on a later connect is logged and published', async () => {
    const answer = { address: '127.0.0.1' };
    const warnings: [string, unknown][] = [];
    const log = { warn: (evt: string, fields?: unknown) => void warnings.push([evt, fields]) };
    const guard = loopbackGuard('database', { resolve: switchableResolver(answer), log });
    const url = new URL(PG_URL);
    url.hostname = 'db.test';
    const connect = async () => {
      const client = new Client({ connectionString: url.toString(), stream: residencyPgStream(guard) });
      client.on('error', () => undefined);
      try {
        await client.connect();
        return (await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one;
      } finally {
        await client.end().catch(() => undefined);
      }
    };

    await expect(connect()).resolves.toBe(1);
    expect(passes).toEqual([
      { destination: 'database', address: '127.0.0.1', port: Number(PG_URL.port || 5432) },
    ]);

    answer.address = '192.0.2.10'; // the name now points off the appliance: the reconnect is refused
    await expect(connect()).rejects.toBeInstanceOf(ResidencyViolationError);
    const violation = { upstream: 'database', reason: 'outside_networks', family: 4, address: '192.0.2.10' };
    expect(violations).toEqual([violation]);
    expect(warnings).toEqual([['residency_violation', violation]]);
    expect(passes).toHaveLength(1);

    answer.address = '127.0.0.1';
    await expect(connect()).resolves.toBe(1);
  });

  it('a Unix-socket path is connected as is (it never leaves the host)', async () => {
    const socket = new ResidencyPgSocket(
      new StoreGuard('database', { networks: ['127.0.0.2/32'], country: 'NL' }),
    );
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => {
      socket.once('error', resolve);
      socket.connect('/nonexistent-hunze-test/.s.PGSQL.5432');
    });
    expect(error).not.toBeInstanceOf(ResidencyViolationError);
    expect(error.code).toBe('ENOENT');
    expect(violations).toEqual([]);
  });
});
