import { Writable } from 'node:stream';
import { ApiError } from '../core/errors';
import { AppLogger } from '../telemetry/logger';
import type { ApiKeyEntity } from './entities/api-key.entity';
import { KeyCache } from './key-cache.service';
import { KeyChangeBus } from './key-changes/key-change-bus';
import type { KeysService } from './keys.service';

/** A bus whose connection the test switches. */
class SwitchableBus extends KeyChangeBus {
  private up = true;
  get connected(): boolean {
    return this.up;
  }
  set(up: boolean): void {
    this.up = up;
    this.connectedChanged(up);
  }
  protected async broadcast(): Promise<void> {}
  async close(): Promise<void> {}
}

const row = (id: string, revoked = false): ApiKeyEntity =>
  ({
    id,
    keyHash: `hash-${id}`,
    role: 'user',
    accountId: 'acc',
    allowedModels: null,
    rpm: null,
    tpm: null,
    monthlyTokens: null,
    expiresAt: null,
    revokedAt: revoked ? new Date() : null,
  }) as ApiKeyEntity;

function setup() {
  const rows = new Map<string, ApiKeyEntity>([['k', row('k')]]);
  let down = false;
  const reads = { byHash: 0 };
  const held: (() => void)[] = [];
  let holdFindAll = false;
  const keys = {
    findAll: async () => {
      if (holdFindAll) await new Promise<void>((resolve) => held.push(resolve));
      if (down) throw new Error('database down');
      return [...rows.values()];
    },
    findById: async (id: string) => rows.get(id) ?? null,
    findByHash: async (hash: string) => {
      reads.byHash++;
      if (down) throw new Error('database down');
      return [...rows.values()].find((r) => r.keyHash === hash) ?? null;
    },
  } as unknown as KeysService;
  const bus = new SwitchableBus();
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) });
  const cache = new KeyCache(keys, bus, new AppLogger('info', sink));
  return {
    cache,
    bus,
    rows,
    reads,
    lines,
    databaseDown: (value: boolean) => (down = value),
    holdReloads: () => (holdFindAll = true),
    releaseReload: () => {
      holdFindAll = false;
      held.splice(0).forEach((release) => release());
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyCache trust', () => {
  const caches: KeyCache[] = [];
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((cache) => cache.beforeApplicationShutdown()));
  });

  async function started() {
    const s = setup();
    caches.push(s.cache);
    await s.cache.onApplicationBootstrap();
    return s;
  }

  it('answers from the cache while the bus is connected', async () => {
    const { cache, reads } = await started();
    expect(cache.trusted).toBe(true);
    expect(cache.authenticateDigest('hash-k')).toMatchObject({ keyId: 'k' });
    expect(reads.byHash).toBe(0);
  });

  it('checks every key in the database while the bus is down, and refuses (503) when that fails too', async () => {
    const { cache, bus, rows, reads, lines, databaseDown } = await started();
    bus.set(false);
    expect(cache.trusted).toBe(false);
    expect(lines.join('')).toContain('"evt":"key_cache_verifying_in_database"');
    rows.set('k', row('k', true)); // revoked elsewhere; no change arrives
    await expect(cache.authenticateDigest('hash-k')).resolves.toBeUndefined();
    expect(reads.byHash).toBe(1);
    expect(cache.verifiedLookups).toBe(1);
    databaseDown(true);
    await expect(cache.authenticateDigest('hash-other')).rejects.toEqual(
      new ApiError('key_verification_unavailable'),
    );
  });

  it('shares one database check among concurrent requests with one key', async () => {
    const { cache, bus, reads } = await started();
    bus.set(false);
    const answers = await Promise.all([1, 2, 3].map(async () => cache.authenticateDigest('hash-k')));
    expect(answers.map((a) => a?.keyId)).toEqual(['k', 'k', 'k']);
    expect(reads.byHash).toBe(1);
  });

  it('trusts the cache again only after a full reload that began with the bus connected', async () => {
    const { cache, bus, rows, holdReloads, releaseReload } = await started();
    bus.set(false);
    rows.set('k', row('k', true)); // missed while down
    holdReloads();
    bus.set(true); // reload starts (held)
    await settle();
    expect(cache.trusted).toBe(false);
    bus.set(false); // dropped again before that reload finished
    bus.set(true); // a second reload starts (also held)
    releaseReload();
    await settle();
    await settle();
    expect(cache.trusted).toBe(true);
    expect(cache.authenticateDigest('hash-k')).toBeUndefined(); // the missed revocation holds
  });

  it('does not trust a reload that a drop interrupted', async () => {
    const { cache, bus, holdReloads, releaseReload } = await started();
    bus.set(false);
    holdReloads();
    bus.set(true);
    await settle();
    bus.set(false);
    releaseReload();
    await settle();
    expect(cache.trusted).toBe(false);
  });
});
