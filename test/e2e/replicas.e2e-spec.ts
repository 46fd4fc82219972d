// Two replicas act as one when parts of what they share break. Both use one PostgreSQL database and a Redis of
// the test's own (configured as deploy/ configures production: nothing on disk), which the test SIGKILLs:
// - an image URL made on one replica is served by the other (images live in Redis, with their TTL);
// - with Redis dead, a key revoked on A is still refused by B within a second (the change also goes through
//   Postgres NOTIFY);
// - with every key-change feed of B down, B checks each key in the database instead of trusting its cache,
//   refuses (503) when it cannot reach the database either, and reloads everything once a feed is back.
// PGlite is one process by design (a second replica cannot share it), so these run on PostgreSQL only.
import OpenAI from 'openai';
import { KeyCache } from '../../src/auth/key-cache.service';
import { KeyChangeBus } from '../../src/auth/key-changes/key-change-bus';
import { redisKey } from '../../src/gateway/images/redis-image-store';
import { FakeFlux } from '../fakes/fake-flux';
import {
  createKeyOn,
  expectOpenAiError,
  lateMisses,
  revokeKeyOn,
  revokeOnOneReplica,
  statusWithKey,
} from '../helpers/admin-api';
import { TcpProxy } from '../helpers/tcp-proxy';
import { ThrowawayRedis } from '../helpers/throwaway-redis';
import {
  freshPostgresDatabase,
  startTestApp,
  usingPostgres,
  waitFor,
  type TestApp,
  type TestAppOptions,
} from '../helpers/test-app';

const IMAGE_MODEL = 'black-forest-labs/FLUX.1-schnell';
/** Waits for state changes on a machine that may be loaded 5x: generous, never a measured bound. */
const DEADLINE_MS = 60_000;

const describePostgres = usingPostgres() ? describe : describe.skip;

/** Creates a key through A's admin API, as an operator would. */
async function metric(on: TestApp, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${on.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Each key-change feed of `on` and whether it is subscribed, as the app itself sees it. */
const feeds = (on: TestApp) => on.app.get(KeyChangeBus).feedStates();
const trusted = (on: TestApp) => on.app.get(KeyCache).trusted;

// Only the connection that LISTENs for key changes (its startup message names it), not the pool.
const isListener = (opening: string) => opening.includes('hunze-listen');

describePostgres(
  'two replicas sharing PostgreSQL and a Redis that dies (PostgreSQL only: PGlite is one process)',
  () => {
    let flux: FakeFlux;
    let redis: ThrowawayRedis;
    let database: { url: string; drop: () => Promise<void> };
    /** Everything B sends to PostgreSQL passes here. */
    let bDatabase: TcpProxy;
    let a: TestApp;
    let b: TestApp;

    beforeAll(async () => {
      flux = await FakeFlux.start();
      redis = await ThrowawayRedis.start();
      database = await freshPostgresDatabase();
      const proxied = await TcpProxy.forDatabaseUrl(database.url);
      bDatabase = proxied.proxy;
      const options = (databaseUrl: string): TestAppOptions => ({
        upstreams: [{ id: 'flux-a', baseUrl: flux.baseUrl }],
        models: [{ id: IMAGE_MODEL, aliases: ['flux'], kind: 'image', upstreams: ['flux-a'] }],
        redisUrl: redis.url,
        databaseUrl,
        extraYaml: 'retention: { usageDays: 395, auditDays: 2190, imageMinutes: 1 }\n',
      });
      a = await startTestApp(options(database.url));
      b = await startTestApp(options(proxied.url));
    });
    afterAll(async () => {
      bDatabase?.resume();
      bDatabase?.allow();
      await b?.close();
      await a?.close();
      await bDatabase?.close();
      await database?.drop();
      await redis?.close();
      await flux?.close();
    });

    describe('while Redis runs', () => {
      it('subscribes every replica to both feeds and trusts its cache', async () => {
        await waitFor(async () => feeds(a).redis === true && feeds(b).redis === true, DEADLINE_MS, 50);
        expect(feeds(a)).toEqual({ postgres: true, redis: true });
        expect(feeds(b)).toEqual({ postgres: true, redis: true });
        expect(await metric(b, 'hunze_key_change_feed_up{feed="redis"}')).toBe(1);
        expect(await metric(b, 'hunze_key_change_feed_up{feed="postgres"}')).toBe(1);
        expect(await metric(b, 'hunze_key_cache_trusted')).toBe(1);
      });

      it('serves an image URL made on A from B, to the same account only, kept in Redis for imageMinutes', async () => {
        const teamA = createKeyOn(a, 'img-a', 'team-a');
        const teamB = createKeyOn(a, 'img-b', 'team-b');
        const onA = new OpenAI({ apiKey: (await teamA).key, baseURL: a.baseURL, maxRetries: 0 });
        const answer = await onA.images.generate({ model: 'flux', prompt: 'two replicas', n: 2 });
        const urls = answer.data!.map((image) => image.url!);
        expect(urls).toHaveLength(2);
        for (const url of urls) {
          const path = new URL(url).pathname;
          const fromA = await fetch(`${a.url}${path}`, {
            headers: { authorization: `Bearer ${(await teamA).key}` },
          });
          const fromB = await fetch(`${b.url}${path}`, {
            headers: { authorization: `Bearer ${(await teamA).key}` },
          });
          expect(fromB.status).toBe(200);
          expect(fromB.headers.get('content-type')).toBe('image/png');
          expect(Buffer.from(await fromB.arrayBuffer())).toEqual(Buffer.from(await fromA.arrayBuffer()));
          const otherAccount = await fetch(`${b.url}${path}`, {
            headers: { authorization: `Bearer ${(await teamB).key}` },
          });
          expect(otherAccount.status).toBe(404);
        }
        // Redis forgets it by itself after retention.imageMinutes (1 minute here), under a key that is not the id.
        const id = new URL(urls[0]!).pathname.split('/').pop()!;
        const direct = redis.client();
        try {
          const ttl = await direct.pttl(redisKey(id));
          expect(ttl).toBeGreaterThan(0);
          expect(ttl).toBeLessThanOrEqual(60_000);
          expect(await direct.exists(`hunze:image:${id}`)).toBe(0);
        } finally {
          direct.disconnect();
        }
      });
    });

    describe('after Redis is SIGKILLed', () => {
      beforeAll(async () => {
        await redis.kill();
        await waitFor(async () => feeds(a).redis === false && feeds(b).redis === false, DEADLINE_MS, 50);
      });

      it('refuses on B within 1 s a key revoked on A (the change also went through Postgres NOTIFY)', async () => {
        const { kept, polls } = await revokeOnOneReplica(a, b, 'team-a');
        expect(lateMisses(polls, 1000)).toEqual([]);
        expect(await statusWithKey(b.baseURL, kept.key)).toBe(200);
        // Postgres alone keeps B's cache fresh: it is still trusted, with no key checked in the database.
        expect(trusted(b)).toBe(true);
        expect(await metric(b, 'hunze_key_change_feed_up{feed="redis"}')).toBe(0);
      });

      it('answers an image request for a url with 503 image_store_unavailable, not a URL that would 404', async () => {
        const { key } = await createKeyOn(a, 'img-while-down', 'team-a');
        const res = await fetch(`${a.baseURL}/images/generations`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'flux', prompt: 'no store', response_format: 'url' }),
        });
        expect(res.status).toBe(503);
        expectOpenAiError(await res.json(), 'image_store_unavailable');
      });

      describe('and B loses its Postgres listener too', () => {
        let cachedBeforeOutage: { id: string; key: string };

        beforeAll(async () => {
          cachedBeforeOutage = await createKeyOn(a, 'cached-before', 'team-a');
          expect(await statusWithKey(b.baseURL, cachedBeforeOutage.key)).toBe(200);
          bDatabase.sever(isListener);
          await waitFor(async () => !trusted(b), DEADLINE_MS, 50);
        });

        it('checks each key in the database: a key revoked on A is refused by B on the next request', async () => {
          expect(feeds(b)).toEqual({ postgres: false, redis: false });
          expect(await metric(b, 'hunze_key_cache_trusted')).toBe(0);
          expect(b.logLines.some((line) => line.includes('"evt":"key_cache_verifying_in_database"'))).toBe(
            true,
          );
          const revoked = await createKeyOn(a, 'revoked-while-b-is-deaf', 'team-a');
          const kept = await createKeyOn(a, 'kept-while-b-is-deaf', 'team-a');
          expect(await statusWithKey(b.baseURL, revoked.key)).toBe(200);
          await revokeKeyOn(a, revoked.id);
          expect(await statusWithKey(b.baseURL, revoked.key)).toBe(401);
          expect(await statusWithKey(b.baseURL, kept.key)).toBe(200);
          expect(await metric(b, 'hunze_key_database_checks_total')).toBeGreaterThanOrEqual(3);
        });

        it('refuses with 503 when it cannot reach the database either, instead of trusting its cache', async () => {
          const { key } = await createKeyOn(a, 'while-cut', 'team-a');
          expect(await statusWithKey(b.baseURL, key)).toBe(200);
          bDatabase.cut();
          try {
            const res = await fetch(`${b.baseURL}/models`, { headers: { authorization: `Bearer ${key}` } });
            expect(res.status).toBe(503);
            expectOpenAiError(await res.json(), 'key_verification_unavailable');
          } finally {
            bDatabase.resume();
          }
          expect(await statusWithKey(b.baseURL, key)).toBe(200);
        });

        it('reloads every key once its feed is back, so a change it missed meanwhile holds', async () => {
          // Revoked while B hears nothing, and never presented to B since: only the reload can tell B.
          await revokeKeyOn(a, cachedBeforeOutage.id);
          bDatabase.allow();
          await waitFor(async () => trusted(b), DEADLINE_MS, 50);
          expect(feeds(b).postgres).toBe(true);
          expect(await statusWithKey(b.baseURL, cachedBeforeOutage.key)).toBe(401);
          const checks = await metric(b, 'hunze_key_database_checks_total');
          const { key } = await createKeyOn(a, 'after-recovery', 'team-a');
          expect(await statusWithKey(b.baseURL, key)).toBe(200);
          expect(await statusWithKey(b.baseURL, key)).toBe(200);
          // Back to the cache: no key checked in the database any more.
          expect(await metric(b, 'hunze_key_database_checks_total')).toBe(checks);
        });
      });

      it('goes back to Redis when it returns, and images are shared again', async () => {
        await redis.start();
        await waitFor(async () => feeds(a).redis === true && feeds(b).redis === true, DEADLINE_MS, 50);
        const { key } = await createKeyOn(a, 'img-after', 'team-a');
        const onA = new OpenAI({ apiKey: key, baseURL: a.baseURL, maxRetries: 0 });
        const answer = await onA.images.generate({ model: 'flux', prompt: 'back again' });
        const path = new URL(answer.data![0]!.url!).pathname;
        const fromB = await fetch(`${b.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
        expect(fromB.status).toBe(200);
      });
    });
  },
);
