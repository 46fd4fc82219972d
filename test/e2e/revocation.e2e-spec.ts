// Revocation reaches every running replica within a second. Two Hunze instances share one Postgres database
// and learn about key changes through Postgres LISTEN/NOTIFY and, when configured, Redis pub/sub as well
// (test/e2e/replicas.e2e-spec.ts breaks Redis and the listener on purpose). PGlite is one
// process by design, so there the proof is that the very next request on that process is refused.
import { KeyChangeBus } from '../../src/auth/key-changes/key-change-bus';
import { LocalKeyChangeBus } from '../../src/auth/key-changes/local-key-change-bus';
import { SharedKeyChangeBus } from '../../src/auth/key-changes/shared-key-change-bus';
import { FakeVllm } from '../fakes/fake-vllm';
import {
  createKeyOn,
  lateMisses,
  pollUntilRefused,
  revokeKeyOn,
  revokeOnOneReplica,
  statusWithKey,
} from '../helpers/admin-api';
import { startTestApp, waitFor, usingPostgres, type TestApp, type TestAppOptions } from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const REDIS_URL = 'redis://127.0.0.1:6379';
const describePostgres = usingPostgres() ? describe : describe.skip;
const describePglite = usingPostgres() ? describe.skip : describe;
/** Creates a key through A's admin API, as an operator would. */
let upstream: FakeVllm;
const appOptions = (): TestAppOptions => ({
  upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
  models: [{ id: MODEL, aliases: ['qwen'], upstreams: ['vllm-a'] }],
});

beforeAll(async () => {
  upstream = await FakeVllm.start({ modelName: MODEL });
});
afterAll(() => upstream.close());

describePostgres.each([
  ['Postgres LISTEN/NOTIFY', undefined, { postgres: true }],
  ['Postgres LISTEN/NOTIFY and Redis pub/sub', REDIS_URL, { postgres: true, redis: true }],
] as const)('two replicas on one Postgres database, changes carried by %s', (_, redisUrl, feeds) => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp({ ...appOptions(), redisUrl });
    b = await startTestApp({ ...appOptions(), redisUrl, databaseOf: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('subscribes both replicas to the configured feeds', async () => {
    for (const replica of [a, b]) {
      const bus = replica.app.get(KeyChangeBus);
      expect(bus).toBeInstanceOf(SharedKeyChangeBus);
      await waitFor(async () => Object.values(bus.feedStates()).every(Boolean), 60_000, 50);
      expect(bus.feedStates()).toEqual(feeds);
    }
  });

  it('accepts a key created on A at once on B (a cache miss falls back to the database)', async () => {
    const { key } = await createKeyOn(a, 'fresh');
    expect(await statusWithKey(b.baseURL, key)).toBe(200);
  });

  it('refuses a key revoked on A on B within 1 s, and keeps other keys working', async () => {
    const { revoked, kept, polls } = await revokeOnOneReplica(a, b);
    expect(lateMisses(polls, 1000)).toEqual([]);

    expect(await statusWithKey(a.baseURL, revoked.key)).toBe(401);
    expect(await statusWithKey(b.baseURL, kept.key)).toBe(200);
    expect(await statusWithKey(b.baseURL, revoked.key)).toBe(401); // and it stays refused
  });

  it('refuses on B within 1 s a key revoked on A that B never used', async () => {
    const { id, key } = await createKeyOn(a, 'never-used-on-b');
    await revokeKeyOn(a, id);
    const revokedAt = Date.now();
    expect(lateMisses(await pollUntilRefused(() => statusWithKey(b.baseURL, key), revokedAt), 1000)).toEqual(
      [],
    );
  });
});

describePglite('revocation on the embedded database (one process)', () => {
  let hunze: TestApp;

  beforeAll(async () => {
    hunze = await startTestApp(appOptions());
  });
  afterAll(() => hunze.close());

  it('delivers key changes in-process', () => {
    expect(hunze.app.get(KeyChangeBus)).toBeInstanceOf(LocalKeyChangeBus);
  });

  it('refuses a key revoked through the admin API on the very next request', async () => {
    const revoked = await createKeyOn(hunze, 'to-revoke');
    const kept = await createKeyOn(hunze, 'kept');
    expect(await statusWithKey(hunze.baseURL, revoked.key)).toBe(200);
    await revokeKeyOn(hunze, revoked.id);
    expect(await statusWithKey(hunze.baseURL, revoked.key)).toBe(401);
    expect(await statusWithKey(hunze.baseURL, kept.key)).toBe(200);
  });

  it('refuses every one of many concurrent requests made after the revoke', async () => {
    const { id, key } = await createKeyOn(hunze, 'busy');
    expect(await statusWithKey(hunze.baseURL, key)).toBe(200);
    await revokeKeyOn(hunze, id);
    const statuses = await Promise.all(Array.from({ length: 20 }, () => statusWithKey(hunze.baseURL, key)));
    expect(new Set(statuses)).toEqual(new Set([401]));
  });
});
