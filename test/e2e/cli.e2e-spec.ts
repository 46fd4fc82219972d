// The built `hunze` CLI as an operator runs it: config check, keys create/list/revoke, db migrate. Keys made
// by the CLI must work on a running appliance and a CLI revoke must reach it: through Postgres NOTIFY, or, on
// the embedded database (which only the server may open), through the running server's admin API.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { FakeVllm } from '../fakes/fake-vllm';
import { lateMisses, pollUntilRefused, statusWithKey } from '../helpers/admin-api';
import { PROCESS_TEST_MS, runCli, type ServeChild, startCli, startServe } from '../helpers/cli';
import { configYaml, startTestApp, usingPostgres, waitFor, type TestApp } from '../helpers/test-app';

// Tests here start CLI processes or appliances of their own (see PROCESS_TEST_MS).
jest.setTimeout(PROCESS_TEST_MS);

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const itPostgres = usingPostgres() ? it : it.skip;
const itPglite = usingPostgres() ? it.skip : it;

let upstream: FakeVllm;
let tmp: string;
let configPath: string;
const write = (name: string, text: string) => {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
};
const lines = (text: string) => text.split('\n').filter(Boolean);

/** The metadata records of /admin/v1/keys requests made with `keyId`, from a server's JSON log. */
function requestsIn(log: string, keyId: string, method: string): unknown[] {
  return lines(log)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return []; // the human-readable banner, or a line still being written
      }
    })
    .filter(
      (r) =>
        r.evt === 'request' && r.endpoint === '/admin/v1/keys' && r.keyId === keyId && r.method === method,
    );
}

beforeAll(async () => {
  upstream = await FakeVllm.start({ modelName: MODEL });
  tmp = mkdtempSync(join(tmpdir(), 'hunze-cli-'));
  configPath = write(
    'hunze.yaml',
    configYaml({
      upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
      models: [{ id: MODEL, aliases: ['qwen'], upstreams: ['vllm-a'] }],
    }),
  );
});
afterAll(async () => {
  await upstream.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('hunze config check', () => {
  it('accepts the shipped config/hunze.yaml and a test config', async () => {
    const shipped = await runCli(['config', 'check']);
    expect(shipped).toMatchObject({ code: 0, stderr: '' });
    expect(shipped.stdout).toMatch(
      /config\/hunze\.yaml: valid \(\d+ upstreams, \d+ models, fingerprint [0-9a-f]{64}\)/,
    );
    const test = await runCli(['config', 'check'], { HUNZE_CONFIG: configPath });
    expect(test).toMatchObject({ code: 0, stderr: '' });
    expect(test.stdout).toContain(`${configPath}: valid (1 upstreams, 1 models`);
  });

  it('lists every schema problem on its own line with its key path', async () => {
    const broken = write(
      'broken.yaml',
      readFileSync(configPath, 'utf8')
        .replace('port: 0', 'port: 70000')
        .replace('networks: [127.0.0.0/8]', 'networks: [localhost]')
        .replace('kind: chat', 'kind: video')
        .replace('redis:', 'colour: blue\nredis:'),
    );
    const result = await runCli(['config', 'check'], { HUNZE_CONFIG: broken });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const problems = lines(result.stderr);
    expect(problems).toHaveLength(4);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^server\.port: /),
        expect.stringMatching(/^upstreams\[0\]\.networks: /),
        expect.stringMatching(/^models\[0\]\.kind: /),
        expect.stringMatching(/^colour: /),
      ]),
    );
  });

  it('reports a US upstream as a residency violation, next to the other problems', async () => {
    const us = write(
      'us.yaml',
      `appliance: { name: Hunze Test, operator: { name: Test B.V., country: NL } }
residency: { allowedRegions: [EEA] }
upstreams:
  - id: gro-1
    baseUrl: http://127.0.0.1:8000/v1
    location: { country: NL }
    operator: { name: Test B.V., country: NL }
    networks: [127.0.0.0/8]
  - id: us-east-1
    baseUrl: http://127.0.0.1:8001/v1
    location: { country: US, city: Ashburn }
    operator: { name: Cloud Inc., country: US }
    networks: [127.0.0.0/8]
models:
  - { id: m1, kind: chat, upstreams: [gro-1, us-east-1] }
  - { id: m2, kind: chat, upstreams: [nowhere] }
`,
    );
    const result = await runCli(['config', 'check'], { HUNZE_CONFIG: us });
    expect(result.code).toBe(1);
    expect(lines(result.stderr)).toEqual([
      'models[1].upstreams[0]: no upstream with id "nowhere"',
      expect.stringMatching(
        /^upstreams\[1\]\.location\.country: residency violation: upstream "us-east-1" is in US/,
      ),
    ]);
  });

  it('fails with exit 1 when the config file cannot be read', async () => {
    const result = await runCli(['config', 'check'], { HUNZE_CONFIG: join(tmp, 'missing.yaml') });
    expect(result.code).toBe(1);
    expect(lines(result.stderr)).toEqual([expect.stringContaining('missing.yaml: cannot read (ENOENT)')]);
  });
});

describe('hunze keys and db migrate', () => {
  let env: Record<string, string>;
  /** Postgres: an in-process appliance on the database the CLI writes to. PGlite: none (the CLI opens it). */
  let hunze: TestApp | undefined;
  let created: { id: string; key: string; prefix: string };

  beforeAll(async () => {
    env = { HUNZE_CONFIG: configPath };
    if (usingPostgres()) {
      hunze = await startTestApp({
        upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
        models: [{ id: MODEL, aliases: ['qwen'], upstreams: ['vllm-a'] }],
      });
      env.DATABASE_URL = hunze.databaseUrl!;
    } else {
      env.HUNZE_DATA_DIR = mkdtempSync(join(tmp, 'data-'));
    }
  });
  afterAll(() => hunze?.close());

  it('creates a key and prints it once, as JSON', async () => {
    const args = ['--name', 'n', '--role', 'dpo', '--account', 'team-a', '--models', 'qwen', '--rpm', '10'];
    const result = await runCli(['keys', 'create', ...args, '--json'], env);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    created = JSON.parse(result.stdout);
    expect(created).toMatchObject({ name: 'n', role: 'dpo', account: 'team-a', models: ['qwen'], rpm: 10 });
    expect(created.key).toMatch(/^hz-[A-Za-z0-9_-]{43}$/);
  });

  it('lists keys as a table and as JSON, never with the key or its hash', async () => {
    const table = await runCli(['keys', 'list'], env);
    expect(table.code).toBe(0);
    expect(lines(table.stdout)[0]).toMatch(
      /^ID\s+PREFIX\s+NAME\s+ROLE\s+ACCOUNT\s+MODELS\s+STATUS\s+CREATED$/,
    );
    const row = lines(table.stdout).find((l) => l.startsWith(created.id));
    expect(row).toMatch(new RegExp(`${created.prefix}…\\s+n\\s+dpo\\s+team-a\\s+qwen\\s+active`));
    const json = await runCli(['keys', 'list', '--json'], env);
    expect(json.code).toBe(0);
    const listed = (JSON.parse(json.stdout) as { id: string }[]).find((k) => k.id === created.id);
    expect(listed).toMatchObject({ prefix: created.prefix, revoked_at: null });
    expect(listed).not.toHaveProperty('key');
    for (const output of [table.stdout, json.stdout]) {
      expect(output).not.toContain(created.key);
      expect(output).not.toContain(sha256(created.key));
    }
  });

  it('revokes a key by id', async () => {
    const result = await runCli(['keys', 'revoke', created.id], env);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain(`Revoked key ${created.id} (${created.prefix}…, n).`);
    const table = await runCli(['keys', 'list'], env);
    expect(lines(table.stdout).find((l) => l.startsWith(created.id))).toMatch(/\srevoked\s/);
  });

  it('refuses bad input with exit 1 and a message that names the problem', async () => {
    const badRole = await runCli(['keys', 'create', '--name', 'x', '--role', 'root'], env);
    expect(badRole).toMatchObject({ code: 1, stdout: '' });
    expect(badRole.stderr).toContain('Invalid value for role');
    const unknown = await runCli(['keys', 'revoke', '00000000-0000-4000-8000-000000000000'], env);
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
  });

  it('says the database is up to date after the keys commands migrated it', async () => {
    const result = await runCli(['db', 'migrate'], env);
    expect(result).toMatchObject({ code: 0, stdout: 'database is up to date\n' });
  });

  itPostgres('makes keys a running appliance accepts, and its revoke reaches it within 1 s', async () => {
    const made = await runCli(['keys', 'create', '--name', 'for-the-app', '--json'], env);
    const { key, id } = JSON.parse(made.stdout) as { key: string; id: string };
    const client = new OpenAI({ apiKey: key, baseURL: hunze!.baseURL, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'qwen',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.model).toBe(MODEL);

    // The clock starts at the CLI's "Revoked" line, written after the NOTIFY and before it closed the database.
    const revoke = startCli(['keys', 'revoke', id], env);
    const revokedAt = await revoke.firstStdout;
    const polls = await pollUntilRefused(() => statusWithKey(hunze!.baseURL, key), revokedAt);
    expect(lateMisses(polls, 1000)).toEqual([]);
    const revoked = await revoke.done;
    expect(revoked).toMatchObject({ code: 0, stderr: '' });
    expect(revoked.stdout).toContain(`Revoked key ${id}`);
  });

  itPglite('manages keys of a running `hunze serve` through its admin API', async () => {
    const dataDir = mkdtempSync(join(tmp, 'serve-'));
    const serveEnv = { HUNZE_CONFIG: configPath, HUNZE_DATA_DIR: dataDir };
    // It starts although cli.json names its own pid (left by a crashed process that had the same pid).
    let server: ServeChild | undefined = await startServe(serveEnv, { overStaleEndpoint: true });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const endpoint = readFileSync(join(dataDir, 'cli.json'), 'utf8');
      expect(JSON.parse(endpoint)).toMatchObject({ pid: server.child.pid, url: server.url });
      expect(endpoint).not.toContain('stale');

      const made = await runCli(
        ['keys', 'create', '--name', 'via-server', '--models', 'qwen', '--json'],
        serveEnv,
      );
      expect(made.code).toBe(0);
      const { key, id } = JSON.parse(made.stdout) as { key: string; id: string };
      // The server made it (the CLI did not open the database): its metadata log records the local CLI's call.
      const running = server;
      // The line is written after the response has gone out: wait for it, then count.
      await waitFor(async () => requestsIn(running.stdout(), 'local-cli', 'POST').length >= 1, 30_000);
      expect(requestsIn(running.stdout(), 'local-cli', 'POST')).toHaveLength(1);
      const client = new OpenAI({ apiKey: key, baseURL: `${server.url}/v1`, maxRetries: 0 });
      const completion = await client.chat.completions.create({
        model: 'qwen',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(completion.model).toBe(MODEL);
      const listed = await runCli(['keys', 'list'], serveEnv);
      expect(lines(listed.stdout).some((l) => l.startsWith(id))).toBe(true);

      expect((await runCli(['keys', 'revoke', id], serveEnv)).code).toBe(0);
      expect(await statusWithKey(`${server.url}/v1`, key)).toBe(401);

      const second = await runCli(['serve'], { ...serveEnv, PORT: '0' });
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`another Hunze process (pid ${server.child.pid}) is using ${dataDir}`);

      // It exits by itself on SIGTERM (a SIGKILL after stop's deadline would show as the signal).
      const stopped = await server.stop();
      server = undefined;
      expect(stopped).toMatchObject({ code: 0, signal: null });
      expect(existsSync(join(dataDir, 'cli.json'))).toBe(false);
    } finally {
      await server?.stop();
    }
  });
});
