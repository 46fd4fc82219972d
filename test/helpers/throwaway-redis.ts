// A Redis of the test's own (the shared one on 6379 must never be stopped), configured as deploy/roles/redis
// configures production: nothing on disk (no RDB snapshots, no AOF). It listens on a Unix socket only, and a
// TcpProxy on port 0 gives it a TCP address, so no port is picked before it is bound. kill() is a SIGKILL;
// start() again brings it back on the same address.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { trackLeftover } from './leftovers';
import { TcpProxy } from './tcp-proxy';
import { waitFor } from './test-app';

const READY_MS = 60_000;

/** Unlike production: a Redis that writes to disk, or one whose CONFIG command is renamed away (managed Redis). */
export interface ThrowawayRedisOptions {
  appendOnly?: boolean;
  withoutConfigCommand?: boolean;
}

export class ThrowawayRedis {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** Stops the server and removes the proxy and directory; on record until called. */
  readonly close: () => Promise<void>;

  private constructor(
    private readonly dir: string,
    private readonly proxy: TcpProxy,
    private readonly options: ThrowawayRedisOptions,
  ) {
    this.close = trackLeftover('throwaway redis', async () => {
      await this.kill();
      await this.proxy.close();
      rmSync(this.dir, { recursive: true, force: true });
    });
  }

  static async start(options: ThrowawayRedisOptions = {}): Promise<ThrowawayRedis> {
    const dir = mkdtempSync(join(tmpdir(), 'hunze-redis-'));
    const proxy = await TcpProxy.start({ path: join(dir, 'redis.sock') });
    const redis = new ThrowawayRedis(dir, proxy, options);
    await redis.start().catch(async (error: unknown) => {
      await redis.close();
      throw error;
    });
    return redis;
  }

  /** What redis.url is set to. */
  get url(): string {
    return `redis://127.0.0.1:${this.proxy.port}`;
  }

  /** A client of the test's own, straight to the socket. */
  client(): Redis {
    return new Redis({ path: join(this.dir, 'redis.sock'), maxRetriesPerRequest: 1 });
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', '0', '--unixsocket', join(this.dir, 'redis.sock'), '--unixsocketperm', '700'].concat([
        '--save',
        '',
        '--appendonly',
        this.options.appendOnly ? 'yes' : 'no',
        '--dir',
        this.dir,
        '--loglevel',
        'warning',
        ...(this.options.withoutConfigCommand ? ['--rename-command', 'CONFIG', '""'] : []),
      ]),
      { stdio: 'ignore' },
    );
    this.child = child;
    this.exited = new Promise<void>((done) => {
      child.once('exit', () => done());
      child.once('error', () => done());
    });
    const stop = trackLeftover('throwaway redis', async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await this.exited;
    });
    void this.exited.then(() => stop());
    const probe = this.client();
    try {
      await waitFor(async () => (await probe.ping().catch(() => '')) === 'PONG', READY_MS, 50);
    } finally {
      probe.disconnect();
    }
  }

  /** SIGKILL: no goodbye to any client. */
  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }
}
