import 'reflect-metadata';
import { ConfigError, parseConfig } from '../config/config.loader';
import type { StoreGuardHooks } from './store-guard';
import {
  checkStoreLocations,
  databaseEndpoint,
  redisEndpoint,
  refuseStoresOutOfPlace,
} from './store-locations';

type Store = { networks?: string[]; country?: string };

function config(urls: { databaseUrl?: string; redisUrl?: string }, database: Store = {}, redis: Store = {}) {
  return {
    ...urls,
    file: {
      appliance: { name: 'Test', operator: { name: 'Op', country: 'NL' } },
      database: { networks: database.networks ?? [], country: database.country },
      redis: {
        networks: redis.networks ?? [],
        country: redis.country,
        url: urls.redisUrl ?? null,
        rateLimitSyncMs: 20,
        commandTimeoutMs: 100,
      },
    },
  } as unknown as Parameters<typeof checkStoreLocations>[0];
}

const resolve: NonNullable<StoreGuardHooks['resolve']> = (host) =>
  host === 'db.internal'
    ? Promise.resolve([{ address: '10.20.1.7', family: 4 }])
    : Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }));

describe('store locations', () => {
  it('reads host and port as the clients do, and Unix sockets as such', () => {
    expect(databaseEndpoint('postgres://u:secret@10.20.1.7:6432/hunze')).toEqual({
      host: '10.20.1.7',
      port: 6432,
    });
    expect(databaseEndpoint('postgres://u@%2Fvar%2Frun%2Fpostgresql/hunze')).toEqual({
      socketPath: '/var/run/postgresql',
    });
    expect(redisEndpoint('redis://:pw@10.20.1.8:6390/0')).toEqual({ host: '10.20.1.8', port: 6390 });
    expect(redisEndpoint('rediss://cache.internal')).toEqual({ host: 'cache.internal', port: 6379 });
    expect(redisEndpoint('/run/redis/redis.sock')).toEqual({ socketPath: '/run/redis/redis.sock' });
  });

  it('nothing to say when the stores are on loopback, on a socket, or unused', async () => {
    await expect(checkStoreLocations(config({}))).resolves.toEqual([]);
    await expect(
      checkStoreLocations(
        config({ databaseUrl: 'postgres://u@127.0.0.1:5432/h', redisUrl: 'redis://[::1]:6379' }),
      ),
    ).resolves.toEqual([]);
    await expect(
      checkStoreLocations(config({ databaseUrl: 'postgres://u@%2Ftmp/h', redisUrl: '/tmp/redis.sock' })),
    ).resolves.toEqual([]);
  });

  it('names the store, the address and the declared networks, never the URL', async () => {
    const url = 'postgres://hunze:s3cret-pw@127.0.0.1:5432/hunze';
    const findings = await checkStoreLocations(config({ databaseUrl: url }, { networks: ['127.0.0.2/32'] }));
    expect(findings).toEqual([
      {
        store: 'database',
        refused: true,
        reason: 'outside_networks',
        address: '127.0.0.1',
        line: 'database: residency violation: DATABASE_URL resolves to 127.0.0.1, outside database.networks (127.0.0.2/32)',
      },
    ]);
    expect(findings[0]!.line).not.toContain('s3cret');
  });

  it('without declared networks, a remote store is refused and the key to declare is named', async () => {
    const findings = await checkStoreLocations(config({ redisUrl: 'redis://db.internal:6379' }), { resolve });
    expect(findings.map((f) => f.line)).toEqual([
      'redis: residency violation: redis.url resolves to 10.20.1.7, not a loopback address (declare redis.networks for a redis on another host)',
    ]);
    await expect(
      checkStoreLocations(
        config({ redisUrl: 'redis://db.internal:6379' }, {}, { networks: ['10.20.1.0/24'] }),
        {
          resolve,
        },
      ),
    ).resolves.toEqual([]);
  });

  it('a public address outside the country is named with the country key', async () => {
    const geo = () => 'US';
    const findings = await checkStoreLocations(
      config({ databaseUrl: 'postgres://u@198.51.100.4/h' }, { networks: ['198.51.100.0/24'] }),
      { geo },
    );
    expect(findings.map((f) => f.line)).toEqual([
      'database: residency violation: DATABASE_URL resolves to 198.51.100.4, a public address outside NL (database.country)',
    ]);
  });

  it('a host that does not resolve cannot be checked (not a refusal)', async () => {
    const findings = await checkStoreLocations(config({ databaseUrl: 'postgres://u@nowhere.invalid/h' }), {
      resolve,
    });
    expect(findings).toEqual([
      {
        store: 'database',
        refused: false,
        line: 'database: the host of DATABASE_URL cannot be resolved (ENOTFOUND)',
      },
    ]);
  });

  it('at boot, refusals stop the start (ConfigError, logged as residency_violation); lookups failing do not', async () => {
    const warnings: [string, unknown][] = [];
    const log = { warn: (evt: string, fields?: unknown) => void warnings.push([evt, fields]) };
    const refused = refuseStoresOutOfPlace(
      config(
        { databaseUrl: 'postgres://u@127.0.0.1/h', redisUrl: 'redis://nowhere.invalid' },
        {
          networks: ['127.0.0.2/32'],
        },
      ),
      log,
      { resolve },
    );
    await expect(refused).rejects.toBeInstanceOf(ConfigError);
    await expect(refused).rejects.toMatchObject({
      problems: [
        'database: residency violation: DATABASE_URL resolves to 127.0.0.1, outside database.networks (127.0.0.2/32)',
      ],
    });
    expect(warnings).toEqual([
      ['residency_violation', { upstream: 'database', reason: 'outside_networks', address: '127.0.0.1' }],
      ['store_location_unchecked', { store: 'redis' }],
    ]);
    await expect(
      refuseStoresOutOfPlace(config({ redisUrl: 'redis://nowhere.invalid' }), log, { resolve }),
    ).resolves.toBeUndefined();
  });

  it('config: a declared store country must be an allowed region; with networks and no country at all, one is asked for', () => {
    const problemsOf = (operator: string, extra: string) => {
      const text = `appliance: { name: Test, operator: ${operator} }\nresidency: { allowedRegions: [EEA] }\n${extra}\n`;
      try {
        parseConfig(text, {});
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    const nl = '{ name: Op, country: NL }';
    expect(problemsOf(nl, 'database: { networks: [10.20.1.0/24], country: US }')).toEqual([
      'database.country: residency violation: the database is in US, outside the allowed regions (EEA)',
    ]);
    expect(problemsOf('{ name: Op, country: US }', 'redis: { networks: [10.20.1.0/24] }')).toEqual([
      'redis.country: residency violation: the redis is in US, outside the allowed regions (EEA)',
    ]);
    expect(problemsOf(nl, 'database: { networks: [10.20.1.0/24], country: DE }')).toEqual([]);
    expect(problemsOf('{ name: Op, country: US }', 'database: { networks: [] }')).toEqual([]); // loopback only
    expect(problemsOf('{ name: Op }', 'database: { networks: [10.20.1.0/24] }')).toEqual([
      'database.country: required when database.networks is set and the operator has no country',
    ]);
  });
});
