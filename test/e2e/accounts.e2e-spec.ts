// Account limits as an operator sets them: GET/PUT /admin/v1/accounts and `hunze accounts list|set`. Every
// change is in the audit log and reaches the key cache of every replica, so the account's keys are held to
// the new limits within a second.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeVllm } from '../fakes/fake-vllm';
import { adminCall, expectOpenAiError, lateMisses, pollUntil } from '../helpers/admin-api';
import { PROCESS_TEST_MS, runCli, startServe } from '../helpers/cli';
import {
  ADMIN_KEY,
  configYaml,
  startTestApp,
  usingPostgres,
  waitFor,
  type TestApp,
  type TestAppOptions,
} from '../helpers/test-app';

// Tests here start CLI processes or appliances of their own (see PROCESS_TEST_MS).
jest.setTimeout(PROCESS_TEST_MS);

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const describePostgres = usingPostgres() ? describe : describe.skip;
const itPostgres = usingPostgres() ? it : it.skip;
const itPglite = usingPostgres() ? it.skip : it;
const team = () => `team-${randomUUID().slice(0, 8)}`;
const lines = (text: string) => text.split('\n').filter(Boolean);
/** Waits end on the change arriving; the deadline only turns a hang into a failure (the 1 s is asserted). */
const DEADLINE_MS = 30_000;

let upstream: FakeVllm;
const appOptions = (): TestAppOptions => ({
  upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
  models: [{ id: MODEL, aliases: ['qwen'], upstreams: ['vllm-a'] }],
});

async function put(on: { url: string }, name: string, body: unknown, key = ADMIN_KEY) {
  const res = await fetch(`${on.url}/admin/v1/accounts/${encodeURIComponent(name)}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** The request-limit header a chat with `key` gets (null: the key is not rate limited). */
async function requestLimitOf(on: { baseURL: string }, key: string): Promise<string | null> {
  const res = await fetch(`${on.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'qwen', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await res.arrayBuffer();
  expect(res.status).toBe(200);
  return res.headers.get('x-ratelimit-limit-requests');
}

beforeAll(async () => {
  upstream = await FakeVllm.start({ modelName: MODEL });
});
afterAll(() => upstream.close());

describe('/admin/v1/accounts', () => {
  let hunze: TestApp;

  beforeAll(async () => {
    hunze = await startTestApp(appOptions());
  });
  afterAll(() => hunze.close());

  it('creates an account with limits, changes only the fields given, and clears with null', async () => {
    const name = team();
    const created = await put(hunze, name, { rpm: 60, monthly_tokens: 1_000_000 });
    expect(created).toEqual({
      status: 200,
      body: {
        object: 'account',
        name,
        rpm: 60,
        tpm: null,
        monthly_tokens: 1_000_000,
        active_keys: 0,
        created_at: expect.any(String),
      },
    });
    expect((await put(hunze, name, { tpm: 5000 })).body).toMatchObject({ rpm: 60, tpm: 5000 });
    expect((await put(hunze, name, { rpm: null })).body).toMatchObject({
      rpm: null,
      tpm: 5000,
      monthly_tokens: 1_000_000,
    });

    await hunze.createKey({ account: name });
    const list = await adminCall(hunze.url, 'GET', '/accounts', { key: ADMIN_KEY });
    expect(list.status).toBe(200);
    expect(list.body.object).toBe('list');
    expect(list.body.data.find((a: { name: string }) => a.name === name)).toMatchObject({
      rpm: null,
      tpm: 5000,
      monthly_tokens: 1_000_000,
      active_keys: 1,
    });
  });

  it('writes each change to the audit log, with the previous limits, and nothing for a no-op', async () => {
    const name = team();
    await put(hunze, name, { rpm: 10 });
    await put(hunze, name, { rpm: 20, tpm: 100 });
    await put(hunze, name, { rpm: 20 }); // no change
    const audit = await adminCall(hunze.url, 'GET', '/audit?action=account.limits_set&limit=1000', {
      key: ADMIN_KEY,
    });
    const ours = audit.body.data.filter((e: { target: string }) => e.target === name);
    expect(ours).toEqual([
      expect.objectContaining({
        actor: 'break-glass',
        details: { rpm: 10, tpm: null, monthly_tokens: null, created: true },
      }),
      expect.objectContaining({
        details: {
          rpm: 20,
          tpm: 100,
          monthly_tokens: null,
          created: false,
          previous: { rpm: 10, tpm: null, monthly_tokens: null },
        },
      }),
    ]);
    expect((await adminCall(hunze.url, 'GET', '/audit/verify', { key: ADMIN_KEY })).body.valid).toBe(true);
  });

  it('lets admin set, dpo read, and nobody else in', async () => {
    const dpo = await hunze.createKey({ role: 'dpo' });
    const user = await hunze.createKey({});
    expect((await adminCall(hunze.url, 'GET', '/accounts', { key: dpo.key })).status).toBe(200);
    const dpoPut = await put(hunze, team(), { rpm: 1 }, dpo.key);
    expect(dpoPut.status).toBe(403);
    expectOpenAiError(dpoPut.body, 'permission_denied');
    expect((await adminCall(hunze.url, 'GET', '/accounts', { key: user.key })).status).toBe(403);
    expect((await put(hunze, team(), { rpm: 1 }, user.key)).status).toBe(403);
    expect((await adminCall(hunze.url, 'GET', '/accounts', { header: undefined })).status).toBe(401);
  });

  it.each([
    [{ rpm: 0 }, 'rpm'],
    [{ tpm: 'many' }, 'tpm'],
    [{ monthly_tokens: 1.5 }, 'monthly_tokens'],
    [{ rpm: 1, burst: 2 }, 'body'],
  ])('answers 400 naming the field for %j', async (body, param) => {
    const res = await put(hunze, team(), body);
    expect(res.status).toBe(400);
    expectOpenAiError(res.body, 'invalid_request_error', param);
  });

  it('refuses an over-long account name', async () => {
    const res = await put(hunze, 'a'.repeat(201), { rpm: 1 });
    expect(res.status).toBe(400);
    expectOpenAiError(res.body, 'invalid_request_error', 'name');
  });

  it("applies a change to the account's keys already in the cache, on the very next request", async () => {
    const name = team();
    const { key } = await hunze.createKey({ account: name });
    expect(await requestLimitOf(hunze, key)).toBeNull();
    await put(hunze, name, { rpm: 1000 });
    expect(await requestLimitOf(hunze, key)).toBe('1000');
    await put(hunze, name, { rpm: null });
    expect(await requestLimitOf(hunze, key)).toBeNull();
  });
});

describePostgres('account changes across replicas', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp(appOptions());
    b = await startTestApp({ ...appOptions(), databaseOf: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('reach the key cache of the other replica within a second', async () => {
    const name = team();
    const { key } = await a.createKey({ account: name });
    expect(await requestLimitOf(b, key)).toBeNull(); // cached on B without limits
    // The clock starts when A has made the change (its answer), not before the admin call.
    expect((await put(a, name, { rpm: 500 })).status).toBe(200);
    const changedAt = Date.now();
    const polls = await pollUntil(
      () => requestLimitOf(b, key),
      (limit) => limit === '500',
      changedAt,
      20,
    );
    expect(lateMisses(polls, 1000)).toEqual([]);
  });
});

describe('hunze accounts', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'hunze-accounts-'));
  let configPath: string;

  beforeAll(() => {
    configPath = join(tmp, 'hunze.yaml');
    writeFileSync(configPath, configYaml(appOptions()));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  itPostgres('sets and lists limits on the database, and a running appliance applies them', async () => {
    const hunze = await startTestApp(appOptions());
    try {
      const env = { HUNZE_CONFIG: configPath, DATABASE_URL: hunze.databaseUrl! };
      const name = team();
      const { key } = await hunze.createKey({ account: name });
      expect(await requestLimitOf(hunze, key)).toBeNull();

      // Watched while the CLI runs: its exit (closing its connections) can take a loaded machine longer
      // than the change takes to arrive. The clock starts when the CLI has printed the change it made.
      const applied = waitFor(async () => (await requestLimitOf(hunze, key)) === '5', DEADLINE_MS, 20).then(
        () => Date.now(),
      );
      applied.catch(() => undefined); // awaited below, once the CLI's own result is checked
      const set = await runCli(['accounts', 'set', name, '--rpm', '5', '--tpm', '700', '--json'], env);
      expect(set).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(set.stdout)).toMatchObject({ name, rpm: 5, tpm: 700, monthly_tokens: null });
      expect((await applied) - set.stdoutAt!).toBeLessThan(1000);

      const cleared = await runCli(['accounts', 'set', name, '--clear', '--monthly-tokens', '9000'], env);
      expect(cleared).toMatchObject({ code: 0, stdout: `Account ${name}: 9000 tokens/month.\n` });

      const table = await runCli(['accounts', 'list'], env);
      expect(table.code).toBe(0);
      expect(lines(table.stdout)[0]).toMatch(/^NAME\s+RPM\s+TPM\s+MONTHLY_TOKENS\s+KEYS\s+CREATED$/);
      expect(lines(table.stdout).find((l) => l.startsWith(name))).toMatch(
        new RegExp(`^${name}\\s+-\\s+-\\s+9000\\s+1\\s+\\d{4}-`),
      );
      const json = await runCli(['accounts', 'list', '--json'], env);
      expect((JSON.parse(json.stdout) as { name: string }[]).find((x) => x.name === name)).toMatchObject({
        rpm: null,
        tpm: null,
        monthly_tokens: 9000,
        active_keys: 1,
      });

      const bad = await runCli(['accounts', 'set', name, '--rpm', '0'], env);
      expect(bad).toMatchObject({ code: 1, stdout: '' });
      expect(bad.stderr).toContain('Invalid value for rpm');
      const long = await runCli(['accounts', 'set', 'a'.repeat(201), '--rpm', '1'], env);
      expect(long).toMatchObject({ code: 1, stdout: '' });
      expect(long.stderr).toContain('Invalid value for name');
    } finally {
      await hunze.close();
    }
  });

  itPglite('goes through the running server with the embedded database', async () => {
    const dataDir = mkdtempSync(join(tmp, 'data-'));
    const env = { HUNZE_CONFIG: configPath, HUNZE_DATA_DIR: dataDir };
    const server = await startServe(env);
    try {
      const name = team();
      const set = await runCli(['accounts', 'set', name, '--rpm', '7'], env);
      expect(set).toMatchObject({ code: 0, stdout: `Account ${name}: 7 requests/min.\n` });
      const json = await runCli(['accounts', 'list', '--json'], env);
      expect((JSON.parse(json.stdout) as { name: string }[]).find((x) => x.name === name)).toMatchObject({
        rpm: 7,
      });
      // The server made the change: its audit log names the local CLI as the actor.
      const audit = await runCli(['audit', 'export'], env);
      const events = lines(audit.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(events.find((e) => e.action === 'account.limits_set' && e.target === name)).toMatchObject({
        actor: 'local-cli',
      });
      const made = await runCli(['keys', 'create', '--name', 'k', '--account', name, '--json'], env);
      const { key } = JSON.parse(made.stdout) as { key: string };
      expect(await requestLimitOf({ baseURL: `${server.url}/v1` }, key)).toBe('7');
    } finally {
      await server.stop();
    }
  });
});
