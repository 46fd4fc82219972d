// The Redis scripts and the in-memory store must decide alike: the same random traffic (admissions,
// finished requests' tokens, time passing) goes to both, against the real Redis at 127.0.0.1:6379 under a
// prefix of its own, and every decision and header must match.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import Redis from 'ioredis';
import { admit, nextMonthStart, type Limits, type Subject } from './limit-rules';
import { LocalLimitStore, type TokenOwner } from './local-store';
import { RedisLimitStore } from './redis-store';

const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = `hunze-test:${randomUUID()}`;
let store: RedisLimitStore;

beforeAll(async () => {
  store = new RedisLimitStore(REDIS_URL, () => undefined, prefix);
  // What is checked here is what the scripts decide, not the fail-fast timeouts (100 ms a command, 1 s to
  // connect): on a loaded machine a reply can take longer than that, and the property run sends thousands.
  Object.assign(store['redis'].options, { commandTimeout: 30_000, connectTimeout: 30_000 });
  await store.connect();
});
afterAll(async () => {
  store.close();
  const admin = new Redis(REDIS_URL);
  const keys = await admin.keys(`${prefix}:*`);
  if (keys.length) await admin.del(...keys);
  admin.disconnect();
});

// Token counts and limits in steps of 50, so counters land exactly on a limit as often as past it.
const limit = (max: number, unit = 1) =>
  fc.option(
    fc.integer({ min: 1, max }).map((n) => n * unit),
    { nil: null },
  );
const limits: fc.Arbitrary<Limits> = fc.record({
  rpm: limit(12),
  tpm: limit(8, 50),
  monthlyTokens: limit(16, 50),
});
const step = fc.record({
  advanceMs: fc.oneof(fc.constantFrom(0, 1_000, 15_000), fc.integer({ min: 0, max: 15_000 })),
  tokens: fc.constantFrom(0, 50, 100),
});

it('decides every request exactly as the local store does', async () => {
  await fc.assert(
    fc.asyncProperty(
      limits,
      limits,
      fc.array(step, { minLength: 1, maxLength: 40 }),
      async (keyL, accL, steps) => {
        const run = randomUUID();
        const subjects: Subject[] = [
          { scope: 'key', id: run, limits: keyL },
          { scope: 'account', id: `team ${run}`, limits: accL },
        ];
        const owners: TokenOwner[] = subjects.map((s) => ({ scope: s.scope, id: s.id, tpm: s.limits.tpm }));
        const local = new LocalLimitStore();
        // Two minutes before the next month starts, so months roll over too. Taken from the real clock: Redis
        // expires month counters by the real clock, and a fixed date would one day lie past their expiry.
        let now = nextMonthStart(Date.now()) - 120_000;
        for (const { advanceMs, tokens } of steps) {
          now += advanceMs;
          const mine = local.admit(subjects, now);
          const theirs = admit(subjects, await store.admit(subjects, now), now);
          expect(theirs.refusal).toEqual(mine.refusal);
          expect(theirs.headers).toEqual(mine.headers);
          if (!mine.refusal && tokens > 0) {
            local.addTokens(owners, tokens, now);
            await store.consume(owners, tokens, now);
          }
        }
      },
    ),
    { numRuns: 100 },
  );
});

it('raises month counters to a seed but never lowers them, and adds queued tokens in one flush', async () => {
  const now = Date.now();
  const id = randomUUID();
  const owners: TokenOwner[] = [{ scope: 'key', id, tpm: null }];
  expect(await store.raiseMonth([{ scope: 'key', id, used: 500 }], now)).toEqual([500]);
  expect(await store.raiseMonth([{ scope: 'key', id, used: 200 }], now)).toEqual([500]);
  store.queueMonthTokens(owners, 30, now);
  store.queueMonthTokens(owners, 12, now);
  await store.flushMonthTokens(now);
  const subjects: Subject[] = [{ scope: 'key', id, limits: { rpm: null, tpm: null, monthlyTokens: 1000 } }];
  expect((await store.admit(subjects, now))[0]!.monthUsed).toBe(542);
});
