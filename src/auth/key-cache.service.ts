// In-process cache of every key by hash, so the hot path never waits on the database. Kept fresh by the
// KeyChangeBus (create/revoke reach every replica within a second) and a periodic full reload as a backstop.
// The cache is trusted only while the bus is connected: with every feed down a revocation made on another
// replica could not reach it, so each presented key is checked in the database instead (fails closed: when
// the database cannot answer either, 503 key_verification_unavailable). Once a feed is back the whole cache
// is reloaded (changes may have been missed meanwhile) before it is trusted again.
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { ApiError } from '../core/errors';
import { AppLogger } from '../telemetry/logger';
import type { ApiKeyEntity } from './entities/api-key.entity';
import { KeyChangeBus } from './key-changes/key-change-bus';
import { KeysService } from './keys.service';
import type { Principal } from '../core/principal';

const FULL_RELOAD_MS = 60_000;
/** An unknown key is looked up in the database at most this often (per hash), against guessing floods. */
const NEGATIVE_TTL_MS = 1_000;
const MAX_NEGATIVE_ENTRIES = 10_000;
/** While the cache is not trusted: how long a key check may wait on the database before the 503. */
const VERIFY_TIMEOUT_MS = 2_000;

interface CachedKey {
  principal: Principal;
  expiresAt: number | null;
  revoked: boolean;
}

@Injectable()
export class KeyCache implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly byHash = new Map<string, CachedKey>();
  private readonly hashById = new Map<string, string>();
  private readonly misses = new Map<string, number>();
  /** Reloads still reading from the database; shutdown waits for them before the database closes. */
  private readonly reloading = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  /** Whether answers may come from the cache (the bus is connected and a full reload followed). */
  private trustedNow = false;
  /** Bumped at every change of the bus's connection: a reload begun before one cannot make the cache trusted. */
  private feedGeneration = 0;
  /** Database checks in flight while untrusted, one per key digest however many requests present it. */
  private readonly verifying = new Map<string, Promise<Principal | undefined>>();
  /** Database lookups in flight for keys not in the cache (while trusted), one per key digest. */
  private readonly lookingUp = new Map<string, Promise<CachedKey | undefined>>();
  private verifiedCount = 0;

  constructor(
    @Inject(KeysService) private readonly keys: KeysService,
    @Inject(KeyChangeBus) private readonly bus: KeyChangeBus,
    @Inject(AppLogger) private readonly log: AppLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.bus.subscribe((id) => this.track(this.reloadKey(id)));
    this.bus.onConnectedChange((connected) => this.feedChanged(connected));
    await this.reloadAll();
    this.timer = setInterval(() => void this.track(this.reloadAll()), FULL_RELOAD_MS).unref();
  }

  /** Runs before every onApplicationShutdown hook, so the database (closed in one) outlives every reload. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.bus.close();
    await Promise.all(this.reloading);
  }

  /**
   * Resolves a presented key by its digest (`hashKey`); undefined when unknown, revoked or expired.
   * Answers without a promise when the key is cached.
   */
  authenticateDigest(hash: string): Promise<Principal | undefined> | Principal | undefined {
    if (!this.trustedNow) return this.verify(hash);
    const entry = this.byHash.get(hash);
    if (entry) return usable(entry);
    return this.lookupMiss(hash).then((missed) => (missed ? usable(missed) : undefined));
  }

  /** Whether keys are answered from the cache (true) or each checked in the database (false). */
  get trusted(): boolean {
    return this.trustedNow;
  }

  /** Keys checked in the database because the cache was not trusted, since start. */
  get verifiedLookups(): number {
    return this.verifiedCount;
  }

  private feedChanged(connected: boolean): void {
    this.feedGeneration++;
    if (connected) void this.track(this.reloadAll());
    else this.setTrusted(false);
  }

  private setTrusted(trusted: boolean): void {
    if (this.trustedNow === trusted) return;
    this.trustedNow = trusted;
    if (trusted) this.log.event('key_cache_trusted');
    else this.log.warn('key_cache_verifying_in_database');
  }

  private verify(hash: string): Promise<Principal | undefined> {
    return shared(this.verifying, hash, () => this.readKey(hash));
  }

  private async readKey(hash: string): Promise<Principal | undefined> {
    this.verifiedCount++;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('key check timed out')), VERIFY_TIMEOUT_MS);
    });
    try {
      const row = await Promise.race([this.keys.findByHash(hash), timeout]);
      return row ? usable(this.store(row)) : undefined;
    } catch (err) {
      this.log.error('key_verification_failed', err);
      throw new ApiError('key_verification_unavailable');
    } finally {
      clearTimeout(timer);
    }
  }

  /** One database lookup per unknown digest at a time, however many requests present it meanwhile. */
  private lookupMiss(hash: string): Promise<CachedKey | undefined> {
    return shared(this.lookingUp, hash, () => this.readMiss(hash));
  }

  private async readMiss(hash: string): Promise<CachedKey | undefined> {
    const now = Date.now();
    const missedAt = this.misses.get(hash);
    if (missedAt !== undefined && now - missedAt < NEGATIVE_TTL_MS) return undefined;
    const row = await this.keys.findByHash(hash).catch((err: unknown) => {
      this.log.error('key_lookup_failed', err);
      return null;
    });
    if (row) return this.store(row);
    if (this.misses.size >= MAX_NEGATIVE_ENTRIES) this.misses.clear();
    this.misses.set(hash, now);
    return undefined;
  }

  private track(reload: Promise<void>): Promise<void> {
    this.reloading.add(reload);
    void reload.finally(() => this.reloading.delete(reload));
    return reload;
  }

  private async reloadKey(id: string): Promise<void> {
    try {
      const row = await this.keys.findById(id);
      if (row) this.store(row);
    } catch (err) {
      this.log.error('key_reload_failed', err);
    }
  }

  /** Reads every key; the cache is trusted afterwards if the bus was connected throughout. */
  private async reloadAll(): Promise<void> {
    const generation = this.feedGeneration;
    const connected = this.bus.connected;
    try {
      const rows = await this.keys.findAll();
      rows.forEach((row) => this.store(row));
      if (connected && generation === this.feedGeneration) this.setTrusted(true);
    } catch (err) {
      this.log.error('key_reload_failed', err);
    }
  }

  private store(row: ApiKeyEntity): CachedKey {
    const entry: CachedKey = {
      principal: {
        keyId: row.id,
        role: row.role,
        accountId: row.accountId,
        accountName: row.account?.name ?? null,
        allowedModels: row.allowedModels,
        rpm: row.rpm,
        tpm: row.tpm,
        monthlyTokens: row.monthlyTokens,
        accountRpm: row.account?.rpm ?? null,
        accountTpm: row.account?.tpm ?? null,
        accountMonthlyTokens: row.account?.monthlyTokens ?? null,
      },
      expiresAt: row.expiresAt?.getTime() ?? null,
      // Revocation is final: a read that started before it (a full reload, a miss) must not undo it.
      revoked: row.revokedAt !== null || this.byHash.get(row.keyHash)?.revoked === true,
    };
    const previousHash = this.hashById.get(row.id);
    if (previousHash && previousHash !== row.keyHash) this.byHash.delete(previousHash);
    this.byHash.set(row.keyHash, entry);
    this.hashById.set(row.id, row.keyHash);
    this.misses.delete(row.keyHash);
    return entry;
  }
}

function usable(entry: CachedKey): Principal | undefined {
  if (entry.revoked) return undefined;
  if (entry.expiresAt !== null && entry.expiresAt <= Date.now()) return undefined;
  return entry.principal;
}

/** The promise in flight for `key`, or a new one from `start`, forgotten once it settles. */
function shared<T>(inFlight: Map<string, Promise<T>>, key: string, start: () => Promise<T>): Promise<T> {
  let pending = inFlight.get(key);
  if (!pending) {
    pending = start().finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}
