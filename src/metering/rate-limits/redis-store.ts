// The counters shared by every replica, in Redis: one script call per admission and per finished limited
// request. Keys hold key ids and hashed account names, never key material. Commands fail fast (short
// timeout, no offline queue) so a dead Redis costs a request nothing but the switch to the local store.
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import { guardedRedis } from '../../residency/residency-redis-connector';
import { loopbackGuard, type StoreGuard } from '../../residency/store-guard';
import {
  monthOf,
  nextMonthStart,
  WINDOW_MS,
  type Scope,
  type Subject,
  type SubjectState,
} from './limit-rules';
import type { TokenOwner } from './local-store';
import { ADMIT, CONSUME, RAISE_MONTH, SYNC } from './redis-scripts';

/** Month counters outlive their month by a week, for late readers; then Redis drops them. */
const MONTH_GRACE_SECONDS = 7 * 86_400;
const RAISE_BATCH = 500;

class LuaScript {
  private readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** EVALSHA, and EVAL once when Redis does not know the script yet (a restart, SCRIPT FLUSH). */
  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

const admitScript = new LuaScript(ADMIT);
const consumeScript = new LuaScript(CONSUME);
const raiseScript = new LuaScript(RAISE_MONTH);
const syncScript = new LuaScript(SYNC);

/** One subject's counts since the last sync, and its limits (how far each count moves its clocks). */
export interface SyncEntry {
  subject: Subject;
  requests: number;
  tokens: number;
}

export class RedisLimitStore {
  private readonly redis: Redis;
  /** Tokens of requests whose counters were not sent (unlimited keys, or Redis was down), by month key. */
  private readonly pendingMonth = new Map<string, number>();
  /** Hashed account names, computed once per account. */
  private readonly accountBases = new Map<string, string>();

  constructor(
    url: string,
    onConnectionError: (err: unknown) => void,
    private readonly prefix = 'hunze:rl',
    /** redis.networks, checked on every (re)connect; loopback only when not given. */
    guard: StoreGuard = loopbackGuard('redis'),
    /** redis.commandTimeoutMs: past it a command counts as failed and the replica decides locally. */
    commandTimeoutMs = 100,
  ) {
    this.redis = guardedRedis(
      url,
      {
        lazyConnect: true,
        enableOfflineQueue: false,
        // Commands issued in one event-loop turn (admissions of requests that arrived together, token charges)
        // leave in one write and come back in one read: a socket write per command was the top syscall cost.
        enableAutoPipelining: true,
        commandTimeout: commandTimeoutMs,
        connectTimeout: 1_000,
        maxRetriesPerRequest: 0,
        retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
      },
      guard,
    );
    this.redis.on('error', onConnectionError);
  }

  /** Rejects when Redis cannot be reached; ioredis keeps reconnecting in the background either way. */
  async connect(): Promise<void> {
    await this.redis.connect();
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  /** Decides and counts one request in one round trip; returns every subject's state before it. */
  async admit(subjects: readonly Subject[], now: number): Promise<SubjectState[]> {
    const keys = this.stateKeys(subjects, now);
    const args: number[] = [now, WINDOW_MS];
    for (const { limits } of subjects) args.push(limits.rpm ?? 0, limits.tpm ?? 0, limits.monthlyTokens ?? 0);
    return states(await admitScript.run(this.redis, keys, args), subjects.length);
  }

  /** Adds a finished request's tokens to the owners' minute and month counters. */
  async consume(owners: readonly TokenOwner[], tokens: number, now: number): Promise<void> {
    const keys: string[] = [];
    const args: number[] = [now, WINDOW_MS, tokens, monthExpiry(now)];
    const month = monthOf(now);
    for (const { scope, id, tpm } of owners) {
      const base = this.base(scope, id);
      keys.push(`${base}:tpm`, `${base}:month:${month}`);
      args.push(tpm ?? 0);
    }
    await consumeScript.run(this.redis, keys, args);
  }

  /** Adds this replica's counts since its last sync; returns every subject's shared state after them. */
  async sync(entries: readonly SyncEntry[], now: number): Promise<SubjectState[]> {
    const keys = this.stateKeys(
      entries.map((e) => e.subject),
      now,
    );
    const args: number[] = [now, WINDOW_MS, monthExpiry(now)];
    for (const { subject, requests, tokens } of entries)
      args.push(subject.limits.rpm ?? 0, subject.limits.tpm ?? 0, requests, tokens);
    return states(await syncScript.run(this.redis, keys, args), entries.length);
  }

  /** Month tokens to send with the next flush (no round trip per request for unlimited keys). */
  queueMonthTokens(owners: readonly TokenOwner[], tokens: number, now: number): void {
    const month = monthOf(now);
    for (const { scope, id } of owners) {
      const key = `${this.base(scope, id)}:month:${month}`;
      this.pendingMonth.set(key, (this.pendingMonth.get(key) ?? 0) + tokens);
    }
  }

  /** Sends the queued month tokens in one pipeline; on failure they stay queued. */
  async flushMonthTokens(now: number): Promise<void> {
    if (this.pendingMonth.size === 0) return;
    const batch = [...this.pendingMonth];
    this.pendingMonth.clear();
    const pipeline = this.redis.pipeline();
    for (const [key, tokens] of batch) pipeline.incrby(key, tokens).expireat(key, monthExpiry(now));
    try {
      const results = await pipeline.exec();
      const failed = results?.find(([err]) => err);
      if (!results || failed) throw failed?.[0] ?? new Error('pipeline not run');
    } catch (err) {
      for (const [key, tokens] of batch)
        this.pendingMonth.set(key, (this.pendingMonth.get(key) ?? 0) + tokens);
      throw err;
    }
  }

  /** Raises month counters to at least the given counts (boot seed); returns the counts Redis now holds. */
  async raiseMonth(
    entries: readonly { scope: Scope; id: string; used: number }[],
    now: number,
  ): Promise<number[]> {
    const month = monthOf(now);
    const counts: number[] = [];
    for (let i = 0; i < entries.length; i += RAISE_BATCH) {
      const batch = entries.slice(i, i + RAISE_BATCH);
      const keys = batch.map((e) => `${this.base(e.scope, e.id)}:month:${month}`);
      const reply = (await raiseScript.run(this.redis, keys, [
        monthExpiry(now),
        ...batch.map((e) => e.used),
      ])) as string[];
      counts.push(...reply.map(Number));
    }
    return counts;
  }

  close(): void {
    this.redis.disconnect();
  }

  /** Per subject its request, token and this month's key: the KEYS of the admission and sync scripts. */
  private stateKeys(subjects: readonly Subject[], now: number): string[] {
    const month = monthOf(now);
    return subjects.flatMap(({ scope, id }) => {
      const base = this.base(scope, id);
      return [`${base}:rpm`, `${base}:tpm`, `${base}:month:${month}`];
    });
  }

  /** Key ids are UUIDs; account names are client-chosen text of any length, so they are hashed. */
  private base(scope: Scope, id: string): string {
    if (scope === 'key') return `${this.prefix}:k:${id}`;
    let base = this.accountBases.get(id);
    if (!base) {
      base = `${this.prefix}:a:${createHash('sha256').update(id).digest('hex').slice(0, 32)}`;
      this.accountBases.set(id, base);
    }
    return base;
  }
}

/** A script's reply (three numbers as strings per subject) as subject states. */
function states(reply: unknown, count: number): SubjectState[] {
  const values = reply as string[];
  return Array.from({ length: count }, (_, i) => ({
    requestTat: Number(values[3 * i] ?? 0),
    tokenTat: Number(values[3 * i + 1] ?? 0),
    monthUsed: Number(values[3 * i + 2] ?? 0),
  }));
}

function monthExpiry(now: number): number {
  return Math.floor(nextMonthStart(now) / 1000) + MONTH_GRACE_SECONDS;
}
