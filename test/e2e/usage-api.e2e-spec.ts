// GET /admin/v1/usage and `hunze usage` through a real Hunze: sums per model, account, key and UTC day over
// rows seeded straight into usage_records (so every expected number is known), range boundaries (`from`
// inclusive, `to` exclusive), CSV quoting and formula guarding, a 400 naming the parameter for every bad
// query, the roles that may read usage, real traffic reaching the API through the usage writer, and the
// built CLI as JSON, CSV and a table (Postgres directly; the embedded database directly and through a
// running `hunze serve`).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { DataSource } from 'typeorm';
import { tightenTree } from '../../src/database/data-dir';
import { createDataSource, migrate } from '../../src/database/data-source';
import { ENTITIES } from '../../src/entities';
import { FakeVllm } from '../fakes/fake-vllm';
import { adminCall, expectOpenAiError } from '../helpers/admin-api';
import { PROCESS_TEST_MS, runCli, startServe } from '../helpers/cli';
import {
  ADMIN_KEY,
  configYaml,
  startTestApp,
  usingPostgres,
  waitFor,
  type TestAppOptions,
  type TestApp,
} from '../helpers/test-app';

// Tests here start CLI processes or appliances of their own (see PROCESS_TEST_MS).
jest.setTimeout(PROCESS_TEST_MS);

const CHAT = 'Qwen/Qwen3.6-35B-A3B-FP8';
const EMBED = 'intfloat/multilingual-e5-large';
const WHISPER = 'whisper-large-v3';
const ACCOUNT_A = 'Team "A", Sales';
const ACCOUNT_B = 'team-b';
const KEY_A_NAME = '=alpha, "one"';
const itPostgres = usingPostgres() ? it : it.skip;
const itPglite = usingPostgres() ? it.skip : it;

interface Seed {
  at: string;
  key: string | null;
  account: string | null;
  model: string | null;
  endpoint: string;
  status?: number;
  error?: string;
  p?: number;
  c?: number;
  t?: number;
  audio?: number;
}

/** Inserts rows the way the usage writer stores them (one per finished request). */
async function seed(dataSource: DataSource, rows: Seed[]): Promise<void> {
  for (const r of rows) {
    await dataSource.query(
      `INSERT INTO usage_records (id, request_id, occurred_at, account, key_id, model, upstream, endpoint, stream,
         status, error_code, prompt_tokens, completion_tokens, total_tokens, latency_ms, audio_seconds)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false, $9, $10, $11, $12, $13, 12.5, $14)`,
      [
        randomUUID(),
        `req_${randomUUID().replace(/-/g, '')}`,
        r.at,
        r.account,
        r.key,
        r.model,
        r.model ? 'vllm-a' : null,
        r.endpoint,
        r.status ?? 200,
        r.error ?? null,
        r.p ?? null,
        r.c ?? null,
        r.t ?? null,
        r.audio ?? null,
      ],
    );
  }
}

/** January 2026 of two teams and the break-glass key, with rows just outside it and rows that are not usage. */
function january(keyA: string, keyB: string): Seed[] {
  const chat = '/v1/chat/completions';
  const a = { key: keyA, account: ACCOUNT_A };
  const b = { key: keyB, account: ACCOUNT_B };
  return [
    { ...a, at: '2026-01-01T00:00:00Z', model: CHAT, endpoint: chat, p: 10, c: 20, t: 30 },
    { ...a, at: '2026-01-15T12:00:00Z', model: CHAT, endpoint: chat, p: 5, c: 7, t: 12 },
    { ...b, at: '2026-01-15T23:59:59.999Z', model: EMBED, endpoint: '/v1/embeddings', p: 100, t: 100 },
    { ...a, at: '2026-01-16T00:00:00Z', model: null, endpoint: chat, status: 404, error: 'model_not_found' },
    {
      key: 'break-glass',
      account: null,
      at: '2026-01-20T00:00:00Z',
      model: CHAT,
      endpoint: chat,
      p: 2,
      c: 3,
      t: 5,
    },
    { ...a, at: '2026-01-20T06:00:00Z', model: WHISPER, endpoint: '/v1/audio/transcriptions', audio: 12.5 },
    {
      ...b,
      at: '2026-01-31T10:00:00Z',
      model: CHAT,
      endpoint: chat,
      error: 'upstream_error',
      p: 4,
      c: 1,
      t: 5,
    },
    { ...b, at: '2026-01-31T23:59:59Z', model: CHAT, endpoint: chat, status: 502, error: 'upstream_error' },
    // Outside January: to is exclusive, from inclusive.
    { ...a, at: '2026-02-01T00:00:00Z', model: CHAT, endpoint: chat, p: 1000, c: 1000, t: 2000 },
    { ...a, at: '2025-12-31T23:59:59.999Z', model: CHAT, endpoint: chat, p: 1000, c: 1000, t: 2000 },
    // Not usage: an admin call, and a request without a valid key.
    { ...a, at: '2026-01-10T00:00:00Z', model: null, endpoint: '/admin/v1/keys' },
    { key: null, account: null, at: '2026-01-10T00:00:00Z', model: null, endpoint: chat, status: 401 },
  ];
}

const JANUARY = 'from=2026-01-01&to=2026-02-01';
const sums = (requests: number, errors: number, p: number, c: number, t: number, audio = 0) => ({
  requests,
  errors,
  prompt_tokens: p,
  completion_tokens: c,
  total_tokens: t,
  audio_seconds: audio,
});

describe('usage API and CLI', () => {
  let upstream: FakeVllm;
  let hunze: TestApp;
  let options: TestAppOptions;
  let tmp: string;
  let keyA: { id: string; key: string };
  let keyB: { id: string; key: string };
  let prefixA: string;
  let prefixB: string;
  let dpoKey: string;
  let userKey: string;
  const usage = (query: string, key = ADMIN_KEY) => adminCall(hunze.url, 'GET', `/usage?${query}`, { key });

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: CHAT });
    tmp = mkdtempSync(join(tmpdir(), 'hunze-usage-'));
    options = {
      upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
      models: [
        { id: CHAT, aliases: ['qwen'], upstreams: ['vllm-a'] },
        { id: EMBED, kind: 'embedding', upstreams: ['vllm-a'] },
        { id: WHISPER, kind: 'audio', upstreams: ['vllm-a'] },
      ],
      // Seeded January 2026 must outlive the retention job for as long as this test exists.
      extraYaml: 'retention: { usageDays: 36500 }\n',
    };
    hunze = await startTestApp(options);
    keyA = await hunze.createKey({ name: KEY_A_NAME, account: ACCOUNT_A });
    keyB = await hunze.createKey({ name: 'bravo', account: ACCOUNT_B });
    dpoKey = (await hunze.createKey({ name: 'dpo', role: 'dpo' })).key;
    userKey = (await hunze.createKey({ name: 'user', account: ACCOUNT_A })).key;
    const listed = await adminCall(hunze.url, 'GET', '/keys', { key: ADMIN_KEY });
    const prefixOf = (id: string) =>
      (listed.body.data as { id: string; prefix: string }[]).find((k) => k.id === id)!.prefix;
    prefixA = prefixOf(keyA.id);
    prefixB = prefixOf(keyB.id);
    await seed(hunze.app.get(DataSource), january(keyA.id, keyB.id));
  });
  afterAll(async () => {
    await hunze?.close();
    await upstream?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('sums January by model (ids in byte order, requests without a model last)', async () => {
    const res = await usage(`${JANUARY}&group_by=model`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      object: 'usage',
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-02-01T00:00:00.000Z',
      group_by: 'model',
      data: [
        { group: CHAT, ...sums(5, 2, 21, 31, 52) },
        { group: EMBED, ...sums(1, 0, 100, 0, 100) },
        { group: WHISPER, ...sums(1, 0, 0, 0, 0, 12.5) },
        { group: null, ...sums(1, 1, 0, 0, 0) },
      ],
    });
  });

  it('sums by account, by key (with name, prefix and account) and by UTC day', async () => {
    const byAccount = await usage(`${JANUARY}&group_by=account`);
    expect(byAccount.body.data).toEqual([
      { group: ACCOUNT_A, ...sums(4, 1, 15, 27, 42, 12.5) },
      { group: ACCOUNT_B, ...sums(3, 2, 104, 1, 105) },
      { group: null, ...sums(1, 0, 2, 3, 5) },
    ]);
    const byKey = await usage(`${JANUARY}&group_by=key`);
    expect(byKey.body.data).toEqual([
      {
        group: keyA.id,
        key_name: KEY_A_NAME,
        key_prefix: prefixA,
        account: ACCOUNT_A,
        ...sums(4, 1, 15, 27, 42, 12.5),
      },
      {
        group: keyB.id,
        key_name: 'bravo',
        key_prefix: prefixB,
        account: ACCOUNT_B,
        ...sums(3, 2, 104, 1, 105),
      },
      { group: 'break-glass', key_name: null, key_prefix: null, account: null, ...sums(1, 0, 2, 3, 5) },
    ]);
    const byDay = await usage(`${JANUARY}&group_by=day`);
    expect(byDay.body.data).toEqual([
      { group: '2026-01-01', ...sums(1, 0, 10, 20, 30) },
      { group: '2026-01-15', ...sums(2, 0, 105, 7, 112) },
      { group: '2026-01-16', ...sums(1, 1, 0, 0, 0) },
      { group: '2026-01-20', ...sums(2, 0, 2, 3, 5, 12.5) },
      { group: '2026-01-31', ...sums(2, 2, 4, 1, 5) },
    ]);
  });

  it('counts `from` in and `to` out, to the millisecond, in any offset', async () => {
    const total = async (query: string) => {
      const res = await usage(`${query}&group_by=account`);
      expect(res.status).toBe(200);
      return (res.body.data as { requests: number }[]).reduce((n, r) => n + r.requests, 0);
    };
    expect(await total('from=2026-01-15T12:00:00Z&to=2026-01-15T23:59:59.999Z')).toBe(1);
    expect(await total('from=2026-01-15T12:00:00.001Z&to=2026-01-16T00:00:00Z')).toBe(1);
    expect(await total('from=2025-12-31T23:59:59.999Z&to=2026-02-01T00:00:00.001Z')).toBe(10);
    // 2026-01-15T13:00:00+01:00 is 12:00 UTC; a time without an offset is UTC.
    expect(await total(`from=${encodeURIComponent('2026-01-15T13:00:00+01:00')}&to=2026-01-16T00:00`)).toBe(
      2,
    );
  });

  it('defaults to this UTC month up to now, by model', async () => {
    const now = new Date();
    const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    await seed(hunze.app.get(DataSource), [
      {
        key: keyB.id,
        account: ACCOUNT_B,
        // A second ago, but in this month even in its first second.
        at: new Date(Math.max(monthStart, now.getTime() - 1000)).toISOString(),
        model: CHAT,
        endpoint: '/v1/completions',
        p: 3,
        c: 4,
        t: 7,
      },
    ]);
    const res = await usage('');
    expect(res.status).toBe(200);
    expect(res.body.group_by).toBe('model');
    expect(res.body.from).toBe(new Date(monthStart).toISOString());
    expect(Date.parse(res.body.to as string)).toBeGreaterThanOrEqual(now.getTime());
    expect(res.body.data).toContainEqual({ group: CHAT, ...sums(1, 0, 3, 4, 7) });
  });

  it('sends CSV with RFC 4180 quoting and formula-looking cells disarmed', async () => {
    const res = await fetch(`${hunze.url}/admin/v1/usage?${JANUARY}&group_by=key&format=csv`, {
      headers: { authorization: `Bearer ${dpoKey}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(
      'attachment; filename="hunze-usage-key-2026-01-01-2026-02-01.csv"',
    );
    expect((await res.text()).split('\r\n')).toEqual([
      'key_id,key_name,key_prefix,account,requests,errors,prompt_tokens,completion_tokens,total_tokens,audio_seconds',
      `${keyA.id},"'=alpha, ""one""",${prefixA},"Team ""A"", Sales",4,1,15,27,42,12.5`,
      `${keyB.id},bravo,${prefixB},team-b,3,2,104,1,105,0`,
      'break-glass,,,,1,0,2,3,5,0',
      '',
    ]);
  });

  it.each([
    ['from=last-month', 'from'],
    ['from=2026-02-30', 'from'],
    ['to=2026-W05', 'to'],
    ['to=', 'to'],
    ['from=2026-02-01&to=2026-01-01', 'to'],
    ['from=2026-01-01&to=2026-01-01', 'to'],
    ['from=2024-01-01&to=2026-01-01', 'to'],
    ['group_by=team', 'group_by'],
    ['group_by=model&group_by=day', 'group_by'],
    ['format=xlsx', 'format'],
  ])('answers 400 naming the parameter for ?%s', async (query, param) => {
    const res = await usage(query);
    expect(res.status).toBe(400);
    expectOpenAiError(res.body, 'invalid_request_error', param);
    expect(res.body.error.message).toContain(`Invalid value for ${param}:`);
  });

  it('refuses a parameter it does not know, without naming it', async () => {
    const res = await usage('groupBy=day');
    expect(res.status).toBe(400);
    expectOpenAiError(res.body, 'unknown_parameter', 'query');
    expect(res.body.error.message).toBe(
      'Unknown query parameter: this endpoint accepts only from, to, group_by, format.',
    );
  });

  it('is for admin and dpo keys only', async () => {
    expect((await adminCall(hunze.url, 'GET', `/usage?${JANUARY}`, { header: undefined })).status).toBe(401);
    expect((await usage(JANUARY, 'hz-not-a-key')).status).toBe(401);
    const user = await usage(JANUARY, userKey);
    expect(user.status).toBe(403);
    expectOpenAiError(user.body, 'permission_denied');
    expect((await usage(JANUARY, dpoKey)).status).toBe(200);
    const admin = await hunze.createKey({ name: 'admin', role: 'admin' });
    expect((await usage(JANUARY, admin.key)).status).toBe(200);
    expect((await usage(JANUARY, ADMIN_KEY)).status).toBe(200);
  });

  it("meters real traffic: the key's usage equals the upstream's own counts", async () => {
    const live = await hunze.createKey({ name: 'live', account: 'live-team' });
    const client = new OpenAI({ apiKey: live.key, baseURL: hunze.baseURL, maxRetries: 0 });
    const answer = await client.chat.completions.create({
      model: 'qwen',
      messages: [{ role: 'user', content: 'one two three four' }],
    });
    const stream = await client.chat.completions.create({
      model: CHAT,
      messages: [{ role: 'user', content: 'five six' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let streamed: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) streamed = chunk.usage ?? streamed;
    const expected = {
      requests: 2,
      prompt_tokens: answer.usage!.prompt_tokens + streamed!.prompt_tokens,
      completion_tokens: answer.usage!.completion_tokens + streamed!.completion_tokens,
      total_tokens: answer.usage!.total_tokens + streamed!.total_tokens,
    };
    expect(expected.prompt_tokens).toBeGreaterThan(0);
    const range = `from=${new Date(Date.now() - 3_600_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`;
    let row: Record<string, unknown> | undefined;
    // The writer batches off the hot path: wait (bounded) until both requests are in usage_records.
    await waitFor(
      async () => {
        const res = await usage(`${range}&group_by=key`);
        row = (res.body.data as Record<string, unknown>[]).find((r) => r.group === live.id);
        return Number(row?.requests) >= 2;
      },
      60_000,
      100,
    );
    expect(row).toMatchObject({ ...expected, errors: 0, account: 'live-team', key_name: 'live' });
  });

  describe('hunze usage (built CLI)', () => {
    const write = (name: string, text: string) => {
      const path = join(tmp, name);
      writeFileSync(path, text);
      return path;
    };

    itPostgres('prints JSON, CSV and a table straight from Postgres', async () => {
      const env = { HUNZE_CONFIG: write('pg.yaml', configYaml(options)), DATABASE_URL: hunze.databaseUrl! };
      const json = await runCli(
        ['usage', '--from', '2026-01-01', '--to', '2026-02-01', '--group-by', 'account', '--format', 'json'],
        env,
      );
      expect(json).toMatchObject({ code: 0, stderr: '' });
      const viaApi = await usage(`${JANUARY}&group_by=account`);
      expect(JSON.parse(json.stdout)).toEqual(viaApi.body);

      const csv = await runCli(
        ['usage', '--to', '2026-02-01', '--group-by', 'account', '--format', 'csv'],
        env,
      );
      expect(csv).toMatchObject({ code: 0, stderr: '' });
      expect(csv.stdout).toBe(
        'account,requests,errors,prompt_tokens,completion_tokens,total_tokens,audio_seconds\r\n' +
          '"Team ""A"", Sales",4,1,15,27,42,12.5\r\n' +
          'team-b,3,2,104,1,105,0\r\n' +
          ',1,0,2,3,5,0\r\n',
      );

      const table = await runCli(
        ['usage', '--from', '2026-01-01', '--to', '2026-02-01', '--group-by', 'day'],
        env,
      );
      expect(table.code).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe(
        'Usage by day from 2026-01-01T00:00:00.000Z to 2026-02-01T00:00:00.000Z (exclusive)',
      );
      expect(lines[2]).toMatch(
        /^DAY +REQUESTS +ERRORS +PROMPT_TOKENS +COMPLETION_TOKENS +TOTAL_TOKENS +AUDIO_SECONDS$/,
      );
      expect(lines[3]).toMatch(/^2026-01-01 +1 +0 +10 +20 +30 +0$/);
      expect(lines.at(-1)).toMatch(/^TOTAL +8 +3 +121 +31 +152 +12\.5$/);
    });

    it('refuses bad options with exit 1, naming the option', async () => {
      const env: Record<string, string> = usingPostgres()
        ? { HUNZE_CONFIG: write('bad.yaml', configYaml(options)), DATABASE_URL: hunze.databaseUrl! }
        : {
            HUNZE_CONFIG: write('bad.yaml', configYaml(options)),
            HUNZE_DATA_DIR: mkdtempSync(join(tmp, 'bad-')),
          };
      const group = await runCli(['usage', '--group-by', 'team'], env);
      expect(group).toMatchObject({ code: 1, stdout: '' });
      expect(group.stderr).toContain(
        'Invalid value for --group-by: is not one of the accepted values. (model, key, account, day)',
      );
      const from = await runCli(['usage', '--from', '2026-13-01'], env);
      expect(from).toMatchObject({ code: 1, stdout: '' });
      expect(from.stderr).toContain('Invalid value for --from:');
      const format = await runCli(['usage', '--format', 'xml'], env);
      expect(format).toMatchObject({ code: 1, stdout: '' });
      expect(format.stderr).toContain('--format must be one of table, csv, json');
    });
  });
});

// typeorm-pglite keeps one PGlite instance per process: the data directory for the CLI is seeded here only
// after the appliance above has closed its own.
describe('hunze usage on the embedded database', () => {
  let tmp: string;
  beforeAll(() => (tmp = mkdtempSync(join(tmpdir(), 'hunze-usage-lite-'))));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  /** Metadata records of GET /admin/v1/usage made with the local CLI token, from the server's JSON log. */
  const cliUsageRequests = (log: string) =>
    log
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((r) => r.evt === 'request' && r.endpoint === '/admin/v1/usage' && r.keyId === 'local-cli');

  itPglite('reads the database directly, and through a running `hunze serve`', async () => {
    const dataDir = mkdtempSync(join(tmp, 'data-'));
    const configPath = join(tmp, 'hunze.yaml');
    writeFileSync(
      configPath,
      configYaml({
        upstreams: [{ id: 'vllm-a', baseUrl: 'http://127.0.0.1:9/v1' }],
        models: [{ id: CHAT, upstreams: ['vllm-a'] }],
        extraYaml: 'retention: { usageDays: 36500 }\n',
      }),
    );
    const env = { HUNZE_CONFIG: configPath, HUNZE_DATA_DIR: dataDir };
    const dataSource = createDataSource({ databaseUrl: undefined, dataDir }, ENTITIES);
    await dataSource.initialize();
    try {
      await migrate(dataSource);
      await seed(dataSource, january(randomUUID(), randomUUID()));
    } finally {
      await dataSource.destroy();
      // As Hunze leaves its data directory (PGlite makes its files readable by all; the CLI would warn).
      tightenTree(dataDir);
    }
    const args = ['usage', '--from', '2026-01-01', '--to', '2026-02-01', '--group-by', 'account'];
    const expected =
      'account,requests,errors,prompt_tokens,completion_tokens,total_tokens,audio_seconds\r\n' +
      '"Team ""A"", Sales",4,1,15,27,42,12.5\r\n' +
      'team-b,3,2,104,1,105,0\r\n' +
      ',1,0,2,3,5,0\r\n';
    const direct = await runCli([...args, '--format', 'csv'], env);
    expect(direct).toMatchObject({ code: 0, stderr: '', stdout: expected });

    const server = await startServe(env);
    try {
      const viaServer = await runCli([...args, '--format', 'csv'], env);
      expect(viaServer).toMatchObject({ code: 0, stderr: '', stdout: expected });
      const json = await runCli([...args, '--format', 'json'], env);
      expect(JSON.parse(json.stdout)).toMatchObject({
        object: 'usage',
        group_by: 'account',
        data: [{ group: ACCOUNT_A, requests: 4 }, { group: ACCOUNT_B }, { group: null }],
      });
      // The server answered them (only it may open the database): its log has the local CLI's requests
      // (written up to 100 ms after each, later on a loaded machine).
      await waitFor(async () => cliUsageRequests(server.stdout()).length >= 2, 30_000);
      expect(cliUsageRequests(server.stdout())).toHaveLength(2);
    } finally {
      await server.stop();
    }
  });
});
