// Per-key and per-account limits: requests per minute, tokens per minute, tokens per UTC month. Requests are
// counted at admission (RateLimitGuard), tokens when the request has finished (take, a sink of the request
// recorder, with the upstream's own count). With redis.url the counters are shared by every replica; when
// Redis fails, this replica enforces its local counters (kept warm all along) until a background ping finds
// Redis again.
import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Principal } from '../../core/principal';
import type { RecordSink } from '../../core/record-sink';
import type { RequestRecord } from '../../core/request-record';
import { storeGuard } from '../../residency/store-guard';
import { HunzeConfig } from '../../config/hunze-config';
import { AppLogger } from '../../telemetry/logger';
import { MetricsService } from '../metrics.service';
import { UsageRecordsRepository } from '../usage-records.repository';
import { isLimited, subjectsOf } from './limit-plan';
import { admit, monthStart, type Admission, type Subject } from './limit-rules';
import { LimitSync } from './limit-sync';
import { LocalLimitStore, type TokenOwner } from './local-store';
import { loadMonthUsage, type MonthUsage } from './month-usage';
import { RateLimitMetrics } from './rate-limit-metrics';
import { RedisLimitStore, type SyncEntry } from './redis-store';

/** How often a degraded replica pings Redis, and how often queued month tokens go to Redis. */
const TICK_MS = 1_000;

export type RateLimitBackend = 'redis' | 'local (redis unavailable)' | 'local';

@Injectable()
export class RateLimits implements RecordSink, OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly name = 'rate-limit token charge';
  private readonly local = new LocalLimitStore();
  private readonly redis: RedisLimitStore | undefined;
  /** redis.rateLimitSyncMs > 0: decisions are local, counts exchanged with Redis every syncMs (limit-sync.ts). */
  private readonly sync: LimitSync | undefined;
  private readonly syncMs: number;
  private syncTimer: NodeJS.Timeout | undefined;
  private redisState: 'connecting' | 'up' | 'down' = 'connecting';
  private readonly metrics: RateLimitMetrics;
  /** Principals are rebuilt when their key reloads, so a plan cached per principal never goes stale. */
  private readonly plans = new WeakMap<Principal, Subject[]>();
  /** The latest plan of each limited key, for its finished requests' tokens. */
  private readonly planByKey = new Map<string, Subject[]>();
  private timer: NodeJS.Timeout | undefined;
  /** Token charges not yet sent to Redis, by key id (see sendCharges). */
  private readonly charges = new Map<string, { owners: TokenOwner[]; tokens: number }>();
  private chargeFlush: NodeJS.Immediate | undefined;

  constructor(
    @Inject(HunzeConfig) config: HunzeConfig,
    @Inject(UsageRecordsRepository) private readonly records: UsageRecordsRepository,
    @Inject(AppLogger) private readonly log: AppLogger,
    @Inject(MetricsService) metrics: MetricsService,
  ) {
    this.metrics = new RateLimitMetrics(metrics.registry);
    // Connection errors repeat on every reconnect attempt; the switch itself is logged once, in markDown.
    if (config.redisUrl) {
      const guard = storeGuard(config.file, 'redis', { log });
      const { commandTimeoutMs } = config.file.redis;
      this.redis = new RedisLimitStore(config.redisUrl, () => undefined, undefined, guard, commandTimeoutMs);
    }
    this.syncMs = config.file.redis.rateLimitSyncMs;
    if (this.redis && this.syncMs > 0) this.sync = new LimitSync(this.local, this.redis);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.redis) {
      await this.redis.connect().then(
        () => this.markUp(),
        (err: unknown) => this.markDown(err),
      );
      this.timer = setInterval(() => void this.tick(), TICK_MS).unref();
      if (this.sync) this.syncTimer = setInterval(() => void this.exchange(), this.syncMs).unref();
    }
    await this.seedMonths();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.syncTimer);
    await this.exchange();
    await this.sendCharges();
    if (this.redis && this.redisIsUp) await this.redis.flushMonthTokens(Date.now()).catch(() => undefined);
    this.redis?.close();
  }

  /** What /readyz reports. */
  backend(): RateLimitBackend {
    if (!this.redis) return 'local';
    return this.redisIsUp ? 'redis' : 'local (redis unavailable)';
  }

  /** The counters this caller is held to; undefined (nothing to do) for a key and account without limits. */
  planFor(principal: Principal): Subject[] | undefined {
    if (!isLimited(principal)) return undefined;
    let plan = this.plans.get(principal);
    if (!plan) {
      plan = subjectsOf(principal);
      this.plans.set(principal, plan);
    }
    return plan;
  }

  /** Decides one request and counts it when admitted. Never rejects: a Redis failure falls back to local. */
  admit(plan: Subject[], now = Date.now()): Admission | Promise<Admission> {
    this.planByKey.set(plan[0]!.id, plan);
    if (!this.redis || !this.redisIsUp || this.sync) {
      const admission = this.local.admit(plan, now);
      if (this.sync && !admission.refusal) this.sync.countRequest(plan, now);
      return this.counted(admission);
    }
    if (this.charges.size > 0) void this.sendCharges();
    return this.redis.admit(plan, now).then(
      (states) => {
        const admission = admit(plan, states, now);
        this.local.observe(plan, admission.next, now);
        return this.counted(admission);
      },
      (err: unknown) => {
        this.markDown(err);
        return this.counted(this.local.admit(plan, now));
      },
    );
  }

  /** Charges a finished request's tokens (the upstream's counts); never blocks and never throws. */
  take(record: RequestRecord): void {
    const tokens = record.totalTokens;
    if (!record.keyId || !tokens || tokens <= 0) return;
    const now = Date.now();
    const plan = this.planByKey.get(record.keyId);
    const owners: TokenOwner[] = plan
      ? plan.map((s) => ({ scope: s.scope, id: s.id, tpm: s.limits.tpm }))
      : unlimitedOwners(record.keyId, record.account);
    this.local.addTokens(owners, tokens, now);
    const redis = this.redis;
    if (!redis) return;
    // Unlimited keys' month tokens go in the next batch: no round trip per request, and their counters are
    // right if an account quota is set later in the month.
    if (!plan || !this.redisIsUp) return redis.queueMonthTokens(owners, tokens, now);
    if (this.sync) return this.sync.countTokens(plan, tokens, now);
    const pending = this.charges.get(record.keyId);
    if (pending) pending.tokens += tokens;
    else this.charges.set(record.keyId, { owners, tokens });
    this.chargeFlush ??= setImmediate(() => void this.sendCharges());
  }

  /**
   * Token charges of requests that finished in the same event-loop turn go to Redis together, one script
   * call per key with their sum. An admission sends the pending charges first, on the same connection, so
   * it never overtakes a charge this replica has already counted.
   */
  private sendCharges(): Promise<unknown> | undefined {
    if (this.chargeFlush) clearImmediate(this.chargeFlush);
    this.chargeFlush = undefined;
    const redis = this.redis;
    if (!redis || this.charges.size === 0) return undefined;
    const now = Date.now();
    const sent = [...this.charges.values()].map(({ owners, tokens }) =>
      redis.consume(owners, tokens, now).catch((err: unknown) => {
        this.markDown(err);
        redis.queueMonthTokens(owners, tokens, now);
      }),
    );
    this.charges.clear();
    return Promise.all(sent);
  }

  /** One exchange of counts with Redis (sync mode). While Redis is down, minute counts are dropped and month
   * tokens wait in the month queue, as in the per-request mode. */
  private async exchange(): Promise<void> {
    const sync = this.sync;
    if (!sync) return;
    const now = Date.now();
    if (!this.redisIsUp) return this.requeueMonthTokens(sync.drain(now), now);
    const { failed, error, skipped } = await sync.exchange(now);
    if (skipped) return;
    if (error === undefined) return this.metrics.exchanged();
    this.markDown(error);
    this.requeueMonthTokens(failed, now);
  }

  private requeueMonthTokens(entries: readonly SyncEntry[], now: number): void {
    for (const { subject, tokens } of entries)
      if (tokens > 0)
        this.redis!.queueMonthTokens([{ scope: subject.scope, id: subject.id, tpm: null }], tokens, now);
  }

  private counted(admission: Admission): Admission {
    if (admission.refusal) this.metrics.refused(admission.refusal.kind, admission.refusal.scope);
    return admission;
  }

  private async tick(): Promise<void> {
    const redis = this.redis!;
    try {
      if (!this.redisIsUp) {
        await redis.ping();
        this.markUp();
      }
      await redis.flushMonthTokens(Date.now());
    } catch (err) {
      this.markDown(err);
    }
  }

  private get redisIsUp(): boolean {
    return this.redisState === 'up';
  }

  private markUp(): void {
    if (this.redisState === 'up') return;
    if (this.redisState === 'down') this.log.event('rate_limits_restored', { backend: 'redis' });
    this.redisState = 'up';
    this.metrics.redisUp(true);
  }

  /** Logged once per switch (a dead Redis fails every call until the ping finds it again). */
  private markDown(err: unknown): void {
    this.metrics.redisUp(false);
    if (this.redisState === 'down') return;
    this.redisState = 'down';
    const e = err as { name?: unknown; code?: unknown };
    this.log.warn('rate_limits_degraded', {
      backend: 'local',
      errorClass: typeof e.name === 'string' ? e.name : undefined,
      errorCode: typeof e.code === 'string' ? e.code : undefined,
    });
  }

  /** Month counters start from usage_records, so a restart keeps the month's usage (Redis: raised, never lowered). */
  private async seedMonths(): Promise<void> {
    const now = Date.now();
    let usage: MonthUsage[];
    try {
      usage = await loadMonthUsage(this.records, new Date(monthStart(now)));
    } catch (err) {
      this.log.error('rate_limits_seed_failed', err);
      return;
    }
    for (const u of usage) this.local.seedMonth(u.scope, u.id, u.used, now);
    if (this.redis && this.redisIsUp && usage.length > 0) {
      try {
        const shared = await this.redis.raiseMonth(usage, now);
        usage.forEach((u, i) => this.local.seedMonth(u.scope, u.id, shared[i] ?? 0, now));
      } catch (err) {
        this.markDown(err);
      }
    }
    this.log.event('rate_limits_seeded', { subjects: usage.length });
  }
}

function unlimitedOwners(keyId: string, account: string | undefined): TokenOwner[] {
  const owners: TokenOwner[] = [{ scope: 'key', id: keyId, tpm: null }];
  if (account) owners.push({ scope: 'account', id: account, tpm: null });
  return owners;
}
