// redis.rateLimitSyncMs > 0: requests are decided from this replica's counters, with no Redis round trip on
// the request path, and every interval the counts made here since the last exchange go to Redis in one
// script call that answers with the shared state every replica has added to. Two cross-process wake-ups per
// request (a command and its reply) were the largest single cost of a request on a small machine. The price:
// within one interval, replicas do not see each other's newest counts, so all of them together may admit a
// few requests (each replica's own rate x the interval) over a limit. A single replica is exact.
import { subjectKey } from './limit-plan';
import { advanceClock, type Subject, type SubjectState, WINDOW_MS } from './limit-rules';
import type { LocalLimitStore } from './local-store';
import type { RedisLimitStore, SyncEntry } from './redis-store';

/** A subject stays in the exchange for a minute after it was last counted here: others' use still matters. */
const ACTIVE_MS = WINDOW_MS;
/** Subjects per script call (each has three keys). */
const PER_CALL = 200;

interface Tracked extends SyncEntry {
  lastCounted: number;
}

export interface ExchangeResult {
  /** Entries whose counts may not have reached Redis (the call failed or timed out), and why. */
  failed: SyncEntry[];
  error?: unknown;
  /** The previous exchange was still under way: nothing was sent. */
  skipped?: true;
}

export class LimitSync {
  private readonly tracked = new Map<string, Tracked>();
  private running = false;

  constructor(
    private readonly local: LocalLimitStore,
    private readonly redis: RedisLimitStore,
  ) {}

  /** An admitted request, counted for every subject of its plan. */
  countRequest(plan: readonly Subject[], now: number): void {
    for (const subject of plan) this.entry(subject, now).requests += 1;
  }

  /** A finished request's tokens. */
  countTokens(plan: readonly Subject[], tokens: number, now: number): void {
    for (const subject of plan) this.entry(subject, now).tokens += tokens;
  }

  /** Takes every pending count out of the exchange (Redis is down: minute counts are not merged back later). */
  drain(now: number): SyncEntry[] {
    return this.take(now, false);
  }

  /** Sends the counts made since the last exchange and takes in the shared state. Never rejects. */
  async exchange(now: number): Promise<ExchangeResult> {
    if (this.running) return { failed: [], skipped: true };
    // Subjects counted within the last minute go too, with no counts: others' use of them still matters.
    const batch = this.take(now, true);
    this.running = true;
    try {
      for (let i = 0; i < batch.length; i += PER_CALL) {
        const part = batch.slice(i, i + PER_CALL);
        let shared: SubjectState[];
        try {
          shared = await this.redis.sync(part, now);
        } catch (error) {
          return { failed: batch.slice(i), error };
        }
        const at = Date.now();
        part.forEach((e, j) => this.takeIn(e.subject, shared[j]!, at));
      }
      return { failed: [] };
    } finally {
      this.running = false;
    }
  }

  /**
   * The counts made since the last call, and resets them: of every subject with counts, and with `active` also
   * of subjects counted within ACTIVE_MS; subjects idle longer leave the exchange.
   */
  private take(now: number, active: boolean): SyncEntry[] {
    const taken: SyncEntry[] = [];
    for (const [key, t] of this.tracked) {
      const idle = t.requests === 0 && t.tokens === 0;
      if (idle && now - t.lastCounted > ACTIVE_MS) this.tracked.delete(key);
      else if (!idle || active) taken.push({ subject: t.subject, requests: t.requests, tokens: t.tokens });
      t.requests = t.tokens = 0;
    }
    return taken;
  }

  /** The shared state plus what this replica counted while the call was under way (raised, never lowered). */
  private takeIn(subject: Subject, shared: SubjectState, now: number): void {
    const since = this.tracked.get(subjectKey(subject.scope, subject.id));
    const requests = since?.requests ?? 0;
    const tokens = since?.tokens ?? 0;
    const { rpm, tpm } = subject.limits;
    this.local.observe(
      [subject],
      [
        {
          requestTat:
            rpm !== null && requests > 0
              ? advanceClock(shared.requestTat, rpm, requests, now)
              : shared.requestTat,
          tokenTat:
            tpm !== null && tokens > 0 ? advanceClock(shared.tokenTat, tpm, tokens, now) : shared.tokenTat,
          monthUsed: shared.monthUsed + tokens,
        },
      ],
      now,
    );
  }

  private entry(subject: Subject, now: number): Tracked {
    const key = subjectKey(subject.scope, subject.id);
    let t = this.tracked.get(key);
    if (!t) {
      t = { subject, requests: 0, tokens: 0, lastCounted: now };
      this.tracked.set(key, t);
    }
    t.subject = subject; // limits may have changed since
    t.lastCounted = now;
    return t;
  }
}
