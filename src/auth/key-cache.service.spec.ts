import { Writable } from 'node:stream';
import { ApiError } from '../core/errors';
import { AppLogger } from '../telemetry/logger';
import type { ApiKeyEntity } from './entities/api-key.entity';
import { KeyCache } from './key-cache.service';
import { KeyChangeBus } from './key-changes/key-change-bus';
import type { KeysService } from './keys.service';
import { apiKeyRow } from '../../test/helpers/api-key-row';

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

const row = (id: string, revoked = false, extra: Partial<ApiKeyEntity> = {}): ApiKeyEntity =>
  apiKeyRow(id, { keyHash: `hash-${id}`, revokedAt: revoked ? new Date() : null, ...extra });

function setup() {
  const rows = new Map<string, ApiKeyEntity>([['k', row('k')]]);
  let down = false;
  const reads = { byHash: 0 };
  const held: (() => void)[] = [];
  let holdFindAll = false;
  let holdFindByHash = false;
  const keys = {
    findAll: async () => {
      if (holdFindAll) await new Promise<void>((resolve) => held.push(resolve));
      if (down) throw new Error('database down');
      return [...rows.values()];
    },
    findById: async (id: string) => rows.get(id) ?? null,
    findByHash: async (hash: string) => {
      reads.byHash++;
      if (holdFindByHash) await new Promise<void>((resolve) => held.push(resolve));
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
    holdLookups: () => (holdFindByHash = true),
    releaseLookups: () => {
      holdFindByHash = false;
      held.splice(0).forEach((release) => release());
    },
  };
}

/** A cache set up and bootstrapped, stopped after the test through `caches`. */
async function startedIn(caches: KeyCache[]) {
  const s = setup();
  caches.push(s.cache);
  await s.cache.onApplicationBootstrap();
  return s;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyCache trust', () => {
  const caches: KeyCache[] = [];
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((cache) => cache.beforeApplicationShutdown()));
  });

  const started = () => startedIn(caches);

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

describe('KeyCache while trusted', () => {
  const caches: KeyCache[] = [];
  afterEach(async () => {
    jest.restoreAllMocks();
    await Promise.all(caches.splice(0).map((cache) => cache.beforeApplicationShutdown()));
  });

  const started = () => startedIn(caches);

  /** Date.now() as the test sets it; the cache reads the time only through it. */
  function clock(start: number) {
    let now = start;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    return { advance: (ms: number) => (now += ms) };
  }

  it('refuses a key from the moment it expires', async () => {
    const t0 = Date.UTC(2030, 0, 1);
    const { cache, rows, bus } = await started();
    const time = clock(t0);
    rows.set('soon', row('soon', false, { expiresAt: new Date(t0 + 60_000) }));
    await bus.publish('soon');
    expect(cache.authenticateDigest('hash-soon')).toMatchObject({ keyId: 'soon' });
    time.advance(59_999);
    expect(cache.authenticateDigest('hash-soon')).toMatchObject({ keyId: 'soon' });
    time.advance(1);
    expect(cache.authenticateDigest('hash-soon')).toBeUndefined();
  });

  it('refuses a key on this replica as soon as its revocation is published on the bus', async () => {
    const { cache, rows, bus, reads } = await started();
    expect(cache.authenticateDigest('hash-k')).toMatchObject({ keyId: 'k' });
    rows.set('k', row('k', true));
    expect(cache.authenticateDigest('hash-k')).toMatchObject({ keyId: 'k' }); // not heard of yet
    await bus.publish('k');
    expect(cache.authenticateDigest('hash-k')).toBeUndefined();
    expect(reads.byHash).toBe(0); // answered from the cache, not the database
  });

  it('keeps a revocation when a full reload that read the key before it finishes afterwards', async () => {
    const { cache, rows, bus, holdReloads, releaseReload } = await started();
    holdReloads();
    bus.set(true); // a full reload begins and is held before it reads
    await settle();
    const stale = [...rows.values()];
    rows.set('k', row('k', true));
    await bus.publish('k');
    stale.forEach((r) => rows.set(r.id, r)); // the held reload will now read the key as not revoked
    releaseReload();
    await settle();
    await settle();
    expect(cache.authenticateDigest('hash-k')).toBeUndefined();
  });

  it('forgets the old hash of a key whose hash changed', async () => {
    const { cache, rows, bus } = await started();
    rows.set('k', row('k', false, { keyHash: 'hash-k-rotated' }));
    await bus.publish('k');
    expect(cache.authenticateDigest('hash-k-rotated')).toMatchObject({ keyId: 'k' });
    await expect(cache.authenticateDigest('hash-k')).resolves.toBeUndefined();
  });

  it('looks an unknown key up in the database at most once a second', async () => {
    const { cache, reads } = await started();
    const time = clock(Date.UTC(2030, 0, 1));
    await expect(cache.authenticateDigest('hash-guess')).resolves.toBeUndefined();
    await expect(cache.authenticateDigest('hash-guess')).resolves.toBeUndefined();
    time.advance(999);
    await expect(cache.authenticateDigest('hash-guess')).resolves.toBeUndefined();
    expect(reads.byHash).toBe(1);
    await expect(cache.authenticateDigest('hash-other-guess')).resolves.toBeUndefined();
    expect(reads.byHash).toBe(2); // per hash
    time.advance(1);
    await expect(cache.authenticateDigest('hash-guess')).resolves.toBeUndefined();
    expect(reads.byHash).toBe(3);
  });

  it('finds a key created elsewhere before its change arrives, and stops treating it as unknown', async () => {
    const { cache, rows, reads } = await started();
    const time = clock(Date.UTC(2030, 0, 1));
    await expect(cache.authenticateDigest('hash-new')).resolves.toBeUndefined(); // not created yet
    rows.set('new', row('new'));
    time.advance(1_000);
    await expect(cache.authenticateDigest('hash-new')).resolves.toMatchObject({ keyId: 'new' });
    expect(cache.authenticateDigest('hash-new')).toMatchObject({ keyId: 'new' }); // cached now
    expect(reads.byHash).toBe(2);
  });

  it('finds a key at once when its creation is published within the second it was unknown', async () => {
    const { cache, rows, bus } = await started();
    clock(Date.UTC(2030, 0, 1)); // time stands still: the miss would be remembered
    await expect(cache.authenticateDigest('hash-new')).resolves.toBeUndefined();
    rows.set('new', row('new'));
    await bus.publish('new');
    expect(cache.authenticateDigest('hash-new')).toMatchObject({ keyId: 'new' });
  });

  it('refuses an unknown key when the database cannot answer, and logs it', async () => {
    const { cache, lines, databaseDown } = await started();
    databaseDown(true);
    await expect(cache.authenticateDigest('hash-unknown')).resolves.toBeUndefined();
    expect(lines.join('')).toContain('"evt":"key_lookup_failed"');
  });

  it('makes one database lookup for concurrent requests presenting one unknown key', async () => {
    const { cache, rows, reads, holdLookups, releaseLookups } = await started();
    rows.set('new', row('new')); // created on another replica; its change has not arrived
    holdLookups();
    const answers = Promise.all([1, 2, 3].map(async () => cache.authenticateDigest('hash-new')));
    releaseLookups();
    expect((await answers).map((a) => a?.keyId)).toEqual(['new', 'new', 'new']);
    expect(reads.byHash).toBe(1);
  });
});
