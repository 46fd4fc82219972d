// The tamper-evident audit log through a real Hunze: events for boot, key create and revoke; the admin API
// (GET /admin/v1/audit, /verify) and its roles; edits and deletions made directly in the database caught by
// verify, naming the row; retention pruning that keeps the chain verifiable; concurrent appends that never
// fork the chain; and `hunze audit verify|export` from the built CLI.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AuditService } from '../../src/audit/audit.service';
import { residencyEvents } from '../../src/residency/residency-connector';
import { FakeVllm } from '../fakes/fake-vllm';
import { adminCall, expectOpenAiError } from '../helpers/admin-api';
import { PROCESS_TEST_MS, runCli, startServe } from '../helpers/cli';
import {
  ADMIN_KEY,
  configYaml,
  startTestApp,
  usingPostgres,
  waitFor,
  type TestApp,
} from '../helpers/test-app';

// Tests here start CLI processes or appliances of their own (see PROCESS_TEST_MS).
jest.setTimeout(PROCESS_TEST_MS);

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const itPostgres = usingPostgres() ? it : it.skip;
const itPglite = usingPostgres() ? it.skip : it;
const OPTIONS = {
  upstreams: [{ id: 'vllm-a', baseUrl: '' }],
  models: [{ id: MODEL, aliases: ['qwen'], upstreams: ['vllm-a'] }],
  extraYaml: 'retention: { auditDays: 1 }\n',
};

interface AuditRow {
  seq: number;
  occurred_at: string;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

describe('audit log', () => {
  let upstream: FakeVllm;
  let hunze: TestApp;
  let options: typeof OPTIONS;
  const audit = (path: string, key = ADMIN_KEY) => adminCall(hunze.url, 'GET', `/audit${path}`, { key });
  const events = async (query = ''): Promise<AuditRow[]> => {
    const res = await audit(`?limit=1000${query}`);
    expect(res.status).toBe(200);
    return res.body.data as AuditRow[];
  };
  const verify = async () => {
    const res = await audit('/verify');
    expect(res.status).toBe(200);
    return res.body as { valid: boolean; checked: number; anchor_seq: number; firstBroken?: unknown };
  };
  /** Plain SQL on the appliance's database, bypassing Hunze: a pg client on Postgres, else the data source. */
  const sql = async (text: string, params: unknown[] = []): Promise<unknown[]> => {
    if (!hunze.databaseUrl) return hunze.app.get(DataSource).query(text, params);
    const client = new Client({ connectionString: hunze.databaseUrl });
    await client.connect();
    try {
      return (await client.query(text, params)).rows;
    } finally {
      await client.end();
    }
  };
  const createKey = async (body: Record<string, unknown>) => {
    const res = await adminCall(hunze.url, 'POST', '/keys', { key: ADMIN_KEY }, body);
    expect(res.status).toBe(201);
    return res.body as { id: string; key: string; prefix: string };
  };

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: MODEL });
    options = { ...OPTIONS, upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }] };
    hunze = await startTestApp(options);
  });

  afterAll(async () => {
    await hunze.close();
    await upstream.close();
  });

  it('records the config load at boot with the config fingerprint', async () => {
    const [first] = await events('&action=config.loaded');
    expect(first).toMatchObject({
      seq: 1,
      actor: 'system',
      action: 'config.loaded',
      target: null,
      details: { fingerprint: hunze.config.fingerprint },
      prev_hash: '0'.repeat(64),
    });
    expect(first!.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('records key creation and revocation with the acting key, and never the key itself', async () => {
    const made = await createKey({ name: 'audited', account: 'team-a' });
    const { key: ops, id: opsId } = await createKey({ name: 'ops', role: 'admin' });
    const revoked = await adminCall(hunze.url, 'DELETE', `/keys/${made.id}`, { key: ops });
    expect(revoked.status).toBe(200);
    // Revoking again changes nothing and records nothing.
    expect((await adminCall(hunze.url, 'DELETE', `/keys/${made.id}`, { key: ops })).status).toBe(200);

    const rows = await events();
    const about = rows.filter((r) => r.target === made.id);
    expect(about).toEqual([
      expect.objectContaining({
        action: 'key.created',
        actor: 'break-glass',
        details: { role: 'user', account: 'team-a', prefix: made.prefix },
      }),
      expect.objectContaining({ action: 'key.revoked', actor: opsId, details: {} }),
    ]);
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(made.key);
    expect(dump).not.toContain(ops);
    expect(dump).not.toContain(ADMIN_KEY);
    // Consecutive, each linked to the one before.
    rows.forEach((r, i) => {
      expect(r.seq).toBe(i + 1);
      if (i > 0) expect(r.prev_hash).toBe(rows[i - 1]!.hash);
    });
    expect(await verify()).toEqual({ valid: true, checked: rows.length, anchor_seq: 0 });
  });

  it('filters by action, time and seq, and pages with has_more', async () => {
    const all = await events();
    const created = await events('&action=key.created');
    expect(created.length).toBeGreaterThanOrEqual(2);
    expect(created.every((r) => r.action === 'key.created')).toBe(true);
    const page = await audit('?limit=1');
    expect(page.body).toMatchObject({ object: 'list', has_more: true, data: [{ seq: 1 }] });
    expect((await events('&after=1')).map((r) => r.seq)).toEqual(all.slice(1).map((r) => r.seq));
    expect(await events('&from=2999-01-01T00:00:00Z')).toEqual([]);
    expect(await events('&to=2000-01-01T00:00:00Z')).toEqual([]);
    for (const [query, param] of [
      ['?action=key.deleted', 'action'],
      ['?limit=0', 'limit'],
      ['?limit=5000', 'limit'],
      ['?from=yesterday', 'from'],
      ['?after=-1', 'after'],
    ] as const) {
      const res = await audit(query);
      expect(res.status).toBe(400);
      expectOpenAiError(res.body, 'invalid_request_error', param);
    }
  });

  it('lets admin and dpo keys read the log and verify it; a user key gets 403', async () => {
    const { key: dpo } = await createKey({ name: 'dpo', role: 'dpo' });
    const { key: user } = await createKey({ name: 'user', role: 'user' });
    expect((await audit('', dpo)).status).toBe(200);
    expect((await audit('/verify', dpo)).status).toBe(200);
    for (const path of ['', '/verify']) {
      const res = await audit(path, user);
      expect(res.status).toBe(403);
      expectOpenAiError(res.body, 'permission_denied');
    }
    expect((await adminCall(hunze.url, 'GET', '/audit', { header: undefined })).status).toBe(401);
  });

  it('names the row whose content was edited directly in the database', async () => {
    const [row] = (await sql(
      `SELECT seq, details::text AS details FROM audit_events WHERE action = 'key.created' ORDER BY seq LIMIT 1`,
    )) as { seq: string | number; details: string }[];
    const seq = Number(row!.seq);
    await sql(`UPDATE audit_events SET details = jsonb_set(details, '{role}', '"admin"') WHERE seq = $1`, [
      seq,
    ]);
    expect(await verify()).toMatchObject({ valid: false, firstBroken: { seq, reason: 'hash_mismatch' } });
    // Editing the actor alone is caught the same way.
    await sql(`UPDATE audit_events SET details = $2::jsonb WHERE seq = $1`, [seq, row!.details]);
    expect((await verify()).valid).toBe(true);
    await sql(`UPDATE audit_events SET actor = 'someone-else' WHERE seq = $1`, [seq]);
    expect(await verify()).toMatchObject({ valid: false, firstBroken: { seq, reason: 'hash_mismatch' } });
    await sql(`UPDATE audit_events SET actor = 'break-glass' WHERE seq = $1`, [seq]);
    expect((await verify()).valid).toBe(true);
  });

  it('names the gap when a row in the middle was deleted, and a re-hashed replacement by its link', async () => {
    const rows = await events();
    expect(rows.length).toBeGreaterThanOrEqual(4);
    const victim = rows[2]!;
    await sql('DELETE FROM audit_events WHERE seq = $1', [victim.seq]);
    expect(await verify()).toMatchObject({
      valid: false,
      firstBroken: { seq: victim.seq + 1, reason: 'missing_rows', expected_seq: victim.seq },
    });
    // Renumbering the next rows down to close the gap breaks the hash of the row moved into it.
    await sql(
      `INSERT INTO audit_events (seq, occurred_at, actor, action, target, details, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)`,
      [
        victim.seq,
        victim.occurred_at,
        victim.actor,
        victim.action,
        victim.target,
        JSON.stringify({ ...victim.details, forged: true }),
        victim.prev_hash,
        victim.hash,
      ],
    );
    expect(await verify()).toMatchObject({
      valid: false,
      firstBroken: { seq: victim.seq, reason: 'hash_mismatch' },
    });
    await sql('UPDATE audit_events SET details = $2::jsonb WHERE seq = $1', [
      victim.seq,
      JSON.stringify(victim.details),
    ]);
    expect((await verify()).valid).toBe(true);
  });

  it('records residency refusals published by the guard, repeats within a minute only counted', async () => {
    const refusal = {
      upstream: 'vllm-a',
      reason: 'outside_networks',
      family: 4,
      address: '192.0.2.7',
    } as const;
    for (let i = 0; i < 3; i++) residencyEvents.publish(refusal);
    residencyEvents.publish({ ...refusal, address: '192.0.2.8' });
    // Appends run one at a time in the order published: once this last one is in, a row for any repeat
    // before it would be too.
    residencyEvents.publish({ ...refusal, address: '192.0.2.9' });
    const last = (rows: AuditRow[]) => rows.some((r) => r.details.address === '192.0.2.9');
    await waitFor(async () => last(await events('&action=residency.violation')), 30_000);
    const rows = await events('&action=residency.violation');
    expect(rows.map((r) => [r.actor, r.target, r.details])).toEqual([
      ['system', 'vllm-a', { reason: 'outside_networks', family: 4, address: '192.0.2.7' }],
      ['system', 'vllm-a', { reason: 'outside_networks', family: 4, address: '192.0.2.8' }],
      ['system', 'vllm-a', { reason: 'outside_networks', family: 4, address: '192.0.2.9' }],
    ]);
    expect((await verify()).valid).toBe(true);
  });

  it('keeps one unforked chain under concurrent appends', async () => {
    const service = hunze.app.get(AuditService);
    const before = (await verify()).checked;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        service.record({ actor: 'system', action: 'report.exported', target: `r${i}`, details: { n: i } }),
      ),
    );
    expect(await verify()).toEqual({ valid: true, checked: before + 20, anchor_seq: 0 });
  });

  it('prunes rows older than retention.auditDays, records what it pruned, and stays verifiable', async () => {
    const rows = await events();
    const cut = rows[3]!; // seq 1..4 become three days old
    await sql(`UPDATE audit_events SET occurred_at = now() - interval '3 days' WHERE seq <= $1`, [cut.seq]);
    const result = await hunze.app.get(AuditService).prune();
    expect(result).toEqual({ pruned: cut.seq, lastSeq: cut.seq });
    const after = await events();
    expect(after[0]!.seq).toBe(cut.seq + 1);
    expect(after[0]!.prev_hash).toBe(cut.hash);
    const pruned = after[after.length - 1]!;
    expect(pruned).toMatchObject({
      actor: 'system',
      action: 'audit.pruned',
      details: { pruned: cut.seq, lastSeq: cut.seq, lastHash: cut.hash, auditDays: 1 },
    });
    expect(await verify()).toEqual({ valid: true, checked: after.length, anchor_seq: cut.seq });
    // Nothing older left: a second run prunes nothing and records nothing.
    expect(await hunze.app.get(AuditService).prune()).toEqual({ pruned: 0 });
    // Deleting the first row that remains is still caught.
    const first = after[0]!;
    await sql('DELETE FROM audit_events WHERE seq = $1', [first.seq]);
    expect(await verify()).toMatchObject({
      valid: false,
      firstBroken: { seq: first.seq + 1, reason: 'missing_rows', expected_seq: first.seq },
    });
    // So is rewriting the anchor the prune event names.
    await sql(
      `INSERT INTO audit_events (seq, occurred_at, actor, action, target, details, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)`,
      [
        first.seq,
        first.occurred_at,
        first.actor,
        first.action,
        first.target,
        JSON.stringify(first.details),
        first.prev_hash,
        first.hash,
      ],
    );
    expect((await verify()).valid).toBe(true);
    await sql(`UPDATE audit_events SET details = jsonb_set(details, '{lastSeq}', '2') WHERE seq = $1`, [
      pruned.seq,
    ]);
    expect((await verify()).valid).toBe(false);
    await sql(`UPDATE audit_events SET details = $2::jsonb WHERE seq = $1`, [
      pruned.seq,
      JSON.stringify(pruned.details),
    ]);
    expect((await verify()).valid).toBe(true);
  });

  describe('hunze audit', () => {
    let tmp: string;
    let env: Record<string, string>;
    beforeAll(() => {
      tmp = mkdtempSync(join(tmpdir(), 'hunze-audit-cli-'));
      const configPath = join(tmp, 'hunze.yaml');
      writeFileSync(configPath, configYaml(options));
      env = { HUNZE_CONFIG: configPath, HUNZE_ADMIN_KEY: ADMIN_KEY, HUNZE_DATA_DIR: join(tmp, 'data') };
    });
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    itPostgres('verifies and exports the chain on Postgres, naming the first broken row', async () => {
      const dbEnv = { ...env, DATABASE_URL: hunze.databaseUrl! };
      const ok = await runCli(['audit', 'verify'], dbEnv);
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/^audit chain valid: \d+ rows checked/);

      const exported = await runCli(['audit', 'export', '--format', 'jsonl'], dbEnv);
      expect(exported.code).toBe(0);
      const lines = exported.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AuditRow);
      expect(lines).toEqual(await events());

      const victim = lines[1]!;
      await sql(`UPDATE audit_events SET target = 'tampered' WHERE seq = $1`, [victim.seq]);
      const broken = await runCli(['audit', 'verify'], dbEnv);
      expect(broken.code).toBe(1);
      expect(broken.stdout).toContain(`audit chain BROKEN at row ${victim.seq}:`);
      await sql(`UPDATE audit_events SET target = $2 WHERE seq = $1`, [victim.seq, victim.target]);
      expect((await runCli(['audit', 'verify', '--json'], dbEnv)).code).toBe(0);
      expect((await runCli(['audit', 'export', '--format', 'csv'], dbEnv)).code).toBe(1);
    });

    itPglite('goes through the running server on the embedded database', async () => {
      const server = await startServe(env);
      try {
        const ok = await runCli(['audit', 'verify', '--json'], env);
        expect(ok.code).toBe(0);
        expect(JSON.parse(ok.stdout)).toMatchObject({ valid: true, anchor_seq: 0 });
        const exported = await runCli(['audit', 'export'], env);
        expect(exported.code).toBe(0);
        const lines = exported.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as AuditRow);
        expect(lines[0]).toMatchObject({ seq: 1, action: 'config.loaded', actor: 'system' });
      } finally {
        await server.stop();
      }
    });
  });
});
