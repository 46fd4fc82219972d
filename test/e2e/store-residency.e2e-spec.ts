// The database and Redis pass the residency guard too. A store URL whose address lies outside the declared
// networks (networks: [127.0.0.2/32], URL on 127.0.0.1 where a tripwire listens) is named by
// `hunze config check` (exit 1), stops the server before it starts (in process and as `hunze serve`), and the
// tripwire sees not even a connection. Matching networks work as before. Needs dist/ (npm run build).
import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { passedChecks, type PassedCheck } from '../../src/residency/passed-checks';
import { ConfigError } from '../../src/config/config.loader';
import { FakeVllm } from '../fakes/fake-vllm';
import { PROCESS_TEST_MS, runCli } from '../helpers/cli';
import {
  ADMIN_KEY,
  configYaml,
  freshPostgresDatabase,
  startTestApp,
  usingPostgres,
  type TestApp,
  type TestAppOptions,
} from '../helpers/test-app';
import { tripwire, type Tripwire } from '../helpers/tripwire';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const REDIS_URL = process.env.HUNZE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

// Tests here start CLI processes or appliances of their own (see PROCESS_TEST_MS).
jest.setTimeout(PROCESS_TEST_MS);

describe('the database and Redis pass the residency guard', () => {
  let fake: FakeVllm;
  let wire: Tripwire;
  let dir: string;
  let hunze: TestApp | undefined;

  beforeAll(async () => {
    fake = await FakeVllm.start({ modelName: MODEL });
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(async () => {
    wire = await tripwire();
    dir = mkdtempSync(join(tmpdir(), 'hunze-store-residency-'));
  });
  afterEach(async () => {
    await hunze?.close();
    hunze = undefined;
    await wire.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const appOptions = (extra: Partial<TestAppOptions> = {}): TestAppOptions => ({
    upstreams: [{ id: 'vllm-a', baseUrl: fake.baseUrl }],
    models: [{ id: MODEL, upstreams: ['vllm-a'] }],
    ...extra,
  });

  /** `hunze config check` and `hunze serve` with this config and environment: both exit 1 with `line`. */
  async function expectCliRefusal(options: TestAppOptions, env: Record<string, string>, line: string) {
    const configPath = join(dir, 'hunze.yaml');
    writeFileSync(configPath, configYaml(options));
    const base = { HUNZE_CONFIG: configPath, HUNZE_DATA_DIR: join(dir, 'data'), HUNZE_ADMIN_KEY: ADMIN_KEY };
    const check = await runCli(['config', 'check'], { ...base, ...env });
    expect({ code: check.code, stderr: check.stderr.trim() }).toEqual({ code: 1, stderr: line });
    const serve = await runCli(['serve'], { ...base, ...env, PORT: '0' });
    expect(serve.code).toBe(1);
    expect(serve.stderr).toContain(line);
    expect(serve.stderr).not.toContain('Hunze is listening');
  }

  it('a database outside database.networks: config check names it, the server refuses to start, nothing is sent', async () => {
    if (!usingPostgres()) return; // the database case needs DATABASE_URL (PostgreSQL)
    const databaseUrl = `postgres://hunze:db-secret-pw@127.0.0.1:${wire.port}/hunze`;
    const options = appOptions({ extraYaml: 'database: { networks: [127.0.0.2/32] }\n' });
    const line = `database: residency violation: DATABASE_URL resolves to 127.0.0.1, outside database.networks (127.0.0.2/32)`;

    await expectCliRefusal(options, { DATABASE_URL: databaseUrl }, line);
    const start = startTestApp({ ...options, databaseUrl });
    await expect(start).rejects.toBeInstanceOf(ConfigError);
    await expect(start).rejects.toMatchObject({ problems: [line] });
    expect({ connections: wire.connections, bytes: wire.bytes }).toEqual({ connections: 0, bytes: 0 });
  });

  it('a Redis outside redis.networks: config check names it, the server refuses to start, nothing is sent', async () => {
    const options = appOptions({
      redisUrl: `redis://127.0.0.1:${wire.port}`,
      redisNetworks: ['127.0.0.2/32'],
    });
    const line = `redis: residency violation: redis.url resolves to 127.0.0.1, outside redis.networks (127.0.0.2/32)`;

    await expectCliRefusal(options, {}, line);
    const start = startTestApp(options);
    await expect(start).rejects.toBeInstanceOf(ConfigError);
    await expect(start).rejects.toMatchObject({ problems: [line] });
    expect({ connections: wire.connections, bytes: wire.bytes }).toEqual({ connections: 0, bytes: 0 });
  });

  it('matching networks work: every store connection is checked and pinned to the declared address', async () => {
    const passes: PassedCheck[] = [];
    const stop = passedChecks.subscribe((passed) => passes.push(passed));
    const database = usingPostgres() ? await freshPostgresDatabase() : undefined;
    try {
      const options = appOptions({
        redisUrl: REDIS_URL,
        redisNetworks: ['127.0.0.1/32'],
        extraYaml: 'database: { networks: [127.0.0.0/8, "::1/128"] }\n',
        databaseUrl: database?.url,
      });
      const configPath = join(dir, 'hunze.yaml');
      writeFileSync(configPath, configYaml(options));
      const check = await runCli(['config', 'check'], {
        HUNZE_CONFIG: configPath,
        HUNZE_ADMIN_KEY: ADMIN_KEY,
        ...(database ? { DATABASE_URL: database.url } : {}),
      });
      expect({ code: check.code, stderr: check.stderr }).toEqual({ code: 0, stderr: '' });

      hunze = await startTestApp(options);
      const { key } = await hunze.createKey();
      const res = await fetch(`${hunze.baseURL}/models`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
      const stores = new Set(
        passes.map((p) => p.destination).filter((d) => d === 'database' || d === 'redis'),
      );
      expect([...stores].sort()).toEqual(database ? ['database', 'redis'] : ['redis']);
      expect(passes.filter((p) => p.destination === 'redis').every((p) => p.address === '127.0.0.1')).toBe(
        true,
      );
    } finally {
      stop();
      await hunze?.close();
      hunze = undefined;
      await database?.drop();
    }
  });
});
