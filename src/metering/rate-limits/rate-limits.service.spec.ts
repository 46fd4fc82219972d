// RateLimits on its own: the local backend, and a Redis that cannot be reached at boot (the replica starts
// degraded instead of failing). The Redis paths with a live server are in test/e2e/rate-limits.e2e-spec.ts.
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { Principal } from '../../core/principal';
import type { HunzeConfig } from '../../config/hunze-config';
import { AppLogger } from '../../telemetry/logger';
import type { MetricsService } from '../metrics.service';
import { UsageRecordsRepository } from '../usage-records.repository';
import { RateLimits } from './rate-limits.service';

const principal = (limits: Partial<Principal>): Principal => ({
  keyId: 'k-1',
  role: 'user',
  accountId: 'a-1',
  accountName: 'team',
  allowedModels: null,
  rpm: null,
  tpm: null,
  monthlyTokens: null,
  accountRpm: null,
  accountTpm: null,
  accountMonthlyTokens: null,
  ...limits,
});

const record = (totalTokens: number) => ({
  time: new Date().toISOString(),
  requestId: 'r',
  method: 'POST',
  endpoint: '/v1/chat/completions',
  status: 200,
  latencyMs: 1,
  keyId: 'k-1',
  account: 'team',
  totalTokens,
});

/** usage_records as the seed reads them: `rows` per query (keys first, then accounts). */
function database(...results: { id: string; used: string }[][]): DataSource {
  let call = 0;
  return { query: () => Promise.resolve(results[call++] ?? []) } as unknown as DataSource;
}

function setup(redisUrl: string | undefined, dataSource = database(), rateLimitSyncMs = 0) {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const registry = new Registry();
  // No declared networks: the Redis guard allows loopback only, as on the appliance itself.
  const file = { redis: { rateLimitSyncMs, networks: [] }, appliance: { operator: { country: 'NL' } } };
  const config = { redisUrl, file } as unknown as HunzeConfig;
  const limits = new RateLimits(config, new UsageRecordsRepository(dataSource), new AppLogger('info', sink), {
    registry,
  } as MetricsService);
  return { limits, lines, registry };
}

/**
 * A port where Redis cannot be reached: every connection is reset at once. Held for the test, unlike a port
 * found free and closed again, which another process could take in between.
 */
async function refusingPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer((socket) => socket.resetAndDestroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('RateLimits', () => {
  it('skips keys and accounts without limits entirely', () => {
    const { limits } = setup(undefined);
    expect(limits.planFor(principal({}))).toBeUndefined();
    expect(limits.planFor(principal({ accountTpm: 5 }))).toHaveLength(2);
    expect(() => limits.take(record(10))).not.toThrow();
  });

  it('counts finished requests’ tokens against tpm in memory', async () => {
    const { limits } = setup(undefined);
    await limits.onApplicationBootstrap();
    expect(limits.backend()).toBe('local');
    const plan = limits.planFor(principal({ tpm: 100 }))!;
    expect((await limits.admit(plan)).refusal).toBeUndefined();
    limits.take(record(120));
    expect((await limits.admit(plan)).refusal).toMatchObject({ kind: 'tokens', scope: 'key' });
  });

  it("seeds the month's usage per key and per account from usage_records at boot", async () => {
    const seeded = database([{ id: 'k-1', used: '900' }], [{ id: 'team', used: '5000' }]);
    const { limits } = setup(undefined, seeded);
    await limits.onApplicationBootstrap();
    const keyPlan = limits.planFor(principal({ monthlyTokens: 1000 }))!;
    expect((await limits.admit(keyPlan)).refusal).toBeUndefined();
    const accountPlan = limits.planFor(principal({ accountMonthlyTokens: 5000 }))!;
    expect((await limits.admit(accountPlan)).refusal).toMatchObject({ kind: 'quota', scope: 'account' });
  });

  it('starts degraded when Redis cannot be reached, enforcing its local limits', async () => {
    const redis = await refusingPort();
    const { limits, lines, registry } = setup(`redis://127.0.0.1:${redis.port}`);
    try {
      await limits.onApplicationBootstrap();
      expect(limits.backend()).toBe('local (redis unavailable)');
      expect(await registry.getSingleMetricAsString('hunze_rate_limit_backend_up')).toContain(
        'hunze_rate_limit_backend_up{backend="redis"} 0',
      );
      const plan = limits.planFor(principal({ rpm: 2 }))!;
      const kinds = [];
      for (let i = 0; i < 3; i++) kinds.push((await limits.admit(plan)).refusal?.kind);
      expect(kinds).toEqual([undefined, undefined, 'requests']);
      expect(lines.filter((l) => l.includes('"evt":"rate_limits_degraded"'))).toHaveLength(1);
    } finally {
      await limits.beforeApplicationShutdown();
      await redis.close();
    }
  });
});
