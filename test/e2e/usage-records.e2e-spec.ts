// usage_records: one row per request with the upstream's own token counts, written off the hot path; the
// shutdown flush; retention; and (PostgreSQL only, through a TCP proxy that can pause or cut the database)
// outages that neither slow requests down nor lose or duplicate a record, including a SIGKILL while spooled;
// and a SIGKILL mid-load (no outage) that loses no record of an answered request (both databases).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AuditService } from '../../src/audit/audit.service';
import { createDataSource } from '../../src/database/data-source';
import { ENTITIES } from '../../src/entities';
import { UsageRetention } from '../../src/metering/usage-retention.service';
import { USAGE_WRITER_LIMITS } from '../../src/metering/usage-writer';
import { FakeVllm } from '../fakes/fake-vllm';
import { adminCall } from '../helpers/admin-api';
import { PROCESS_TEST_MS, type ServeChild, startServe } from '../helpers/cli';
import { TcpProxy } from '../helpers/tcp-proxy';
import {
  ADMIN_KEY,
  configYaml,
  freshPostgresDatabase,
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
/** Deadline for rows and events that normally arrive within a second: only a failing test waits this long. */
const WAIT_MS = 60_000;

interface UsageRowDb {
  request_id: string;
  endpoint: string;
  model: string | null;
  upstream: string | null;
  stream: boolean | null;
  status: number;
  error_code: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  total_tokens: number | null;
  key_id: string | null;
  latency_ms: number;
}

type Query = (sql: string, params: unknown[]) => Promise<unknown[]>;

function rowsOf(query: Query, requestIds: string[]): Promise<UsageRowDb[]> {
  return query(
    `SELECT request_id, endpoint, model, upstream, stream, status, error_code, prompt_tokens,
            completion_tokens, total_tokens, key_id, latency_ms
       FROM usage_records WHERE request_id = ANY($1) ORDER BY occurred_at`,
    [requestIds],
  ) as Promise<UsageRowDb[]>;
}

/** How many rows each request id has (every id present: 1 each, none missing, none twice). */
async function countsOf(query: Query, requestIds: string[]): Promise<Map<string, number>> {
  const rows = (await query(
    'SELECT request_id, count(*)::int AS n FROM usage_records WHERE request_id = ANY($1) GROUP BY request_id',
    [requestIds],
  )) as { request_id: string; n: number }[];
  return new Map(rows.map((r) => [r.request_id, Number(r.n)]));
}

async function exactlyOnce(query: Query, requestIds: string[]): Promise<boolean> {
  const counts = await countsOf(query, requestIds);
  return requestIds.every((id) => counts.get(id) === 1);
}

const chatOptions = (requestId: string, signal?: AbortSignal) => ({
  headers: { 'x-request-id': requestId },
  ...(signal ? { signal } : {}),
});

function appOptions(upstream: FakeVllm): TestAppOptions {
  return {
    upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl, timeouts: { firstByteMs: 1500, idleMs: 1500 } }],
    models: [{ id: MODEL, aliases: ['qwen'], upstreams: ['vllm-a'] }],
  };
}

describe('usage_records', () => {
  let upstream: FakeVllm;
  beforeAll(async () => (upstream = await FakeVllm.start({ modelName: MODEL })));
  afterEach(() => upstream.reset());
  afterAll(() => upstream.close());

  describe('one row per request', () => {
    let hunze: TestApp;
    let client: OpenAI;
    let keyId: string;
    let query: Query;

    beforeAll(async () => {
      hunze = await startTestApp(appOptions(upstream));
      const created = await hunze.createKey({ name: 'usage-test' });
      keyId = created.id;
      client = new OpenAI({ apiKey: created.key, baseURL: hunze.baseURL, maxRetries: 0 });
      const db = hunze.app.get(DataSource);
      query = (sql, params) => db.query(sql, params);
    });
    afterAll(() => hunze.close());

    it('records streamed and non-streamed chats with the upstream token counts, summing to its totals', async () => {
      const prompts = ['one', 'one two three', 'one two three four five six seven'];
      const ids: string[] = [];
      const upstreamTotals = { prompt: 0, completion: 0, total: 0 };
      for (const [i, content] of prompts.entries()) {
        const plainId = `usage-plain-${i}-${randomUUID()}`;
        const plain = await client.chat.completions.create(
          { model: 'qwen', messages: [{ role: 'user', content }] },
          chatOptions(plainId),
        );
        const streamId = `usage-stream-${i}-${randomUUID()}`;
        const stream = await client.chat.completions.create(
          {
            model: 'qwen',
            messages: [{ role: 'user', content }],
            stream: true,
            stream_options: { include_usage: true },
          },
          chatOptions(streamId),
        );
        let streamUsage: OpenAI.CompletionUsage | undefined;
        for await (const chunk of stream) streamUsage = chunk.usage ?? streamUsage;
        for (const usage of [plain.usage!, streamUsage!]) {
          upstreamTotals.prompt += usage.prompt_tokens;
          upstreamTotals.completion += usage.completion_tokens;
          upstreamTotals.total += usage.total_tokens;
        }
        ids.push(plainId, streamId);
      }
      await waitFor(async () => (await rowsOf(query, ids)).length >= ids.length, WAIT_MS);
      const rows = await rowsOf(query, ids);
      expect(rows).toHaveLength(ids.length);
      for (const row of rows)
        expect(row).toMatchObject({
          endpoint: '/v1/chat/completions',
          model: MODEL,
          upstream: 'vllm-a',
          status: 200,
          error_code: null,
          key_id: keyId,
          stream: row.request_id.startsWith('usage-stream'),
        });
      // The fake counts a prompt's words: 1, 3 and 7 prompt tokens, each once streamed and once not.
      expect(rows.map((r) => r.prompt_tokens).sort()).toEqual([1, 1, 3, 3, 7, 7]);
      const sum = (pick: (r: UsageRowDb) => number | null) => rows.reduce((s, r) => s + (pick(r) ?? 0), 0);
      expect({
        prompt: sum((r) => r.prompt_tokens),
        completion: sum((r) => r.completion_tokens),
        total: sum((r) => r.total_tokens),
      }).toEqual(upstreamTotals);
    });

    it('records a stream whose client did not ask for usage with the same counts', async () => {
      const plainId = `usage-plain-${randomUUID()}`;
      const plain = await client.chat.completions.create(
        { model: 'qwen', messages: [{ role: 'user', content: 'count me please' }] },
        chatOptions(plainId),
      );
      const streamId = `usage-stream-${randomUUID()}`;
      const stream = await client.chat.completions.create(
        { model: 'qwen', messages: [{ role: 'user', content: 'count me please' }], stream: true },
        chatOptions(streamId),
      );
      for await (const chunk of stream) expect(chunk.usage ?? null).toBeNull();
      await waitFor(async () => (await rowsOf(query, [streamId])).length >= 1, WAIT_MS);
      const [row, ...more] = await rowsOf(query, [streamId]);
      expect(more).toEqual([]);
      expect(row).toMatchObject({
        prompt_tokens: plain.usage!.prompt_tokens,
        completion_tokens: plain.usage!.completion_tokens,
        total_tokens: plain.usage!.total_tokens,
      });
    });

    it('records failed requests and a client-cancelled stream with status and error code', async () => {
      const unknownId = `usage-unknown-${randomUUID()}`;
      await expect(
        client.chat.completions.create(
          { model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] },
          chatOptions(unknownId),
        ),
      ).rejects.toMatchObject({ status: 404, code: 'model_not_found' });

      upstream.mode = 'error-new';
      upstream.errorStatus = 500;
      const failedId = `usage-upstream-error-${randomUUID()}`;
      const failed = await client.chat.completions
        .create({ model: 'qwen', messages: [{ role: 'user', content: 'hi' }] }, chatOptions(failedId))
        .then(() => undefined)
        .catch((err: InstanceType<typeof OpenAI.APIError>) => err);
      expect(failed?.status).toBeGreaterThanOrEqual(500);
      upstream.reset();

      // Chunks far apart: the client has one chunk, not two, whatever the machine's load when it aborts.
      upstream.chunkDelayMs = 10_000;
      const cancelledId = `usage-cancelled-${randomUUID()}`;
      const controller = new AbortController();
      const stream = await client.chat.completions.create(
        { model: 'qwen', messages: [{ role: 'user', content: 'hi' }], stream: true },
        chatOptions(cancelledId, controller.signal),
      );
      let chunks = 0;
      // The SDK ends the iteration quietly or with an abort error, depending on timing.
      await (async () => {
        for await (const chunk of stream) {
          void chunk;
          chunks++;
          controller.abort();
        }
      })().catch(() => undefined);
      expect(chunks).toBe(1);

      const ids = [unknownId, failedId, cancelledId];
      await waitFor(async () => (await rowsOf(query, ids)).length >= 3, WAIT_MS);
      const rows = await rowsOf(query, ids);
      expect(rows).toHaveLength(3);
      const byId = new Map(rows.map((r) => [r.request_id, r]));
      expect(byId.get(unknownId)).toMatchObject({
        status: 404,
        error_code: 'model_not_found',
        key_id: keyId,
      });
      expect(byId.get(failedId)).toMatchObject({
        status: failed!.status,
        error_code: failed!.code,
        upstream: 'vllm-a',
      });
      expect(byId.get(cancelledId)).toMatchObject({ status: 499, stream: true, upstream: 'vllm-a' });
    });

    it('retention deletes rows older than retention.usageDays in chunks and audits what it deleted', async () => {
      const usageDays = hunze.config.file.retention.usageDays;
      const day = 86_400_000;
      const old = Array.from({ length: 25 }, () => randomUUID());
      await query(
        `INSERT INTO usage_records (id, request_id, occurred_at, endpoint, status, latency_ms)
         SELECT id, 'usage-old', $2, '/v1/chat/completions', 200, 1 FROM unnest($1::uuid[]) AS id`,
        [old, new Date(Date.now() - (usageDays + 1) * day).toISOString()],
      );
      const keptId = `usage-kept-${randomUUID()}`;
      await query(
        `INSERT INTO usage_records (id, request_id, occurred_at, endpoint, status, latency_ms)
         VALUES ($1, $2, $3, '/v1/chat/completions', 200, 1)`,
        [randomUUID(), keptId, new Date(Date.now() - (usageDays - 1) * day).toISOString()],
      );
      const retention = hunze.app.get(UsageRetention);
      expect(await retention.pruneNow()).toBe(25);
      expect(await countsOf(query, ['usage-old', keptId])).toEqual(new Map([[keptId, 1]]));
      const { rows } = await hunze.app.get(AuditService).list({ action: 'usage.pruned', limit: 10 });
      expect(rows.at(-1)).toMatchObject({
        actor: 'system',
        details: { records: 25, usageDays, before: expect.any(String) },
      });
      // Nothing left to prune: no audit event.
      expect(await retention.pruneNow()).toBe(0);
      const after = await hunze.app.get(AuditService).list({ action: 'usage.pruned', limit: 10 });
      expect(after.rows).toHaveLength(rows.length);
      expect((await hunze.app.get(AuditService).verify()).valid).toBe(true);
    });
  });

  it("closing the app writes every queued record, in-flight requests' included", async () => {
    const hunze = await startTestApp(appOptions(upstream));
    const { key } = await hunze.createKey({ name: 'usage-shutdown' });
    const client = new OpenAI({ apiKey: key, baseURL: hunze.baseURL, maxRetries: 0 });
    const done = Array.from({ length: 20 }, (_, i) => `usage-close-${i}-${randomUUID()}`);
    await Promise.all(
      done.map((id) =>
        client.chat.completions.create(
          { model: 'qwen', messages: [{ role: 'user', content: 'hi' }] },
          chatOptions(id),
        ),
      ),
    );
    // A stream still running when close starts (its first chunk is in, the next is 150 ms away): it ends
    // during the server's close (grace 0.2 s).
    upstream.chunkDelayMs = 150;
    const streamingId = `usage-close-stream-${randomUUID()}`;
    const stream = await client.chat.completions.create(
      { model: 'qwen', messages: [{ role: 'user', content: 'hi' }], stream: true },
      chatOptions(streamingId),
    );
    const chunks = stream[Symbol.asyncIterator]();
    expect((await chunks.next()).done).toBe(false);
    const streaming = (async () => {
      while (!(await chunks.next()).done);
    })().catch(() => undefined);
    const dataDir = hunze.config.dataDir;
    await hunze.app.close();
    await streaming;

    const ids = [...done, streamingId];
    let counts: Map<string, number>;
    if (hunze.databaseUrl) {
      const pg = new Client({ connectionString: hunze.databaseUrl });
      await pg.connect();
      counts = await countsOf(async (sql, params) => (await pg.query(sql, params)).rows, ids);
      await pg.end();
    } else {
      const reopened = createDataSource({ databaseUrl: undefined, dataDir }, ENTITIES);
      await reopened.initialize();
      counts = await countsOf((sql, params) => reopened.query(sql, params), ids);
      await reopened.destroy();
    }
    expect(ids.filter((id) => counts.get(id) !== 1)).toEqual([]);
    await hunze.close();
  });

  it('a server SIGKILLed mid-load loses no record of a request it answered: the restart inserts them once', async () => {
    const database = usingPostgres() ? await freshPostgresDatabase() : undefined;
    const tmp = mkdtempSync(join(tmpdir(), 'hunze-usage-kill-'));
    const configPath = join(tmp, 'hunze.yaml');
    writeFileSync(configPath, configYaml(appOptions(upstream)));
    const dataDir = join(tmp, 'data');
    const env: Record<string, string> = {
      HUNZE_CONFIG: configPath,
      HUNZE_DATA_DIR: dataDir,
      HUNZE_ADMIN_KEY: ADMIN_KEY,
      ...(database ? { DATABASE_URL: database.url } : {}),
    };
    let server: ServeChild | undefined;
    try {
      server = await startServe(env);
      const made = await adminCall(server.url, 'POST', '/keys', { key: ADMIN_KEY }, { name: 'kill' });
      expect(made.status).toBe(201);
      const client = new OpenAI({ apiKey: made.body.key, baseURL: `${server.url}/v1`, maxRetries: 0 });
      // Load until the kill (bounded in time and count): every request whose answer arrived is noted by the id
      // the server gave it. The workers run until the kill, however slowly the machine lets them.
      const answered: string[] = [];
      const failedBeforeKill: unknown[] = [];
      let killed = false;
      const loadStart = Date.now();
      const worker = async () => {
        while (!killed && Date.now() - loadStart < 90_000 && answered.length < 5_000) {
          try {
            const { response } = await client.chat.completions
              .create({ model: 'qwen', messages: [{ role: 'user', content: 'hi' }] })
              .withResponse();
            answered.push(response.headers.get('x-request-id')!);
          } catch (err) {
            if (!killed) failedBeforeKill.push(err);
            return; // the server is gone
          }
        }
      };
      const workers = Array.from({ length: 4 }, worker);
      await waitFor(async () => answered.length >= 200 || failedBeforeKill.length > 0, 90_000, 5);
      expect(failedBeforeKill).toEqual([]);
      // No pause, no outage: the records of the last ~200 ms are still waiting for their batch.
      killed = true;
      server.child.kill('SIGKILL');
      await Promise.all(workers);
      await server.stop();
      server = undefined;
      expect(new Set(answered).size).toBe(answered.length);

      server = await startServe(env);
      const restarted = server;
      await waitFor(
        async () => /^hunze_usage_queue_depth 0$/m.test(await metrics(restarted.url)),
        WAIT_MS,
        50,
      );
      await server.stop(); // PGlite is single-process: read it once the server let go of it
      server = undefined;
      const counts = await usageCounts(database?.url, dataDir, answered);
      expect(answered.filter((id) => counts.get(id) !== 1)).toEqual([]);
    } finally {
      await server?.stop();
      await database?.drop();
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  describePostgres('while PostgreSQL is unavailable', () => {
    let database: { url: string; drop: () => Promise<void> };
    let proxy: TcpProxy;
    let hunze: TestApp;
    let client: OpenAI;
    let direct: Client;
    const query: Query = async (sql, params) => (await direct.query(sql, params)).rows;

    beforeAll(async () => {
      database = await freshPostgresDatabase();
      const proxied = await TcpProxy.forDatabaseUrl(database.url);
      proxy = proxied.proxy;
      // Redis carries key changes while PostgreSQL is away, so the key cache stays trusted; without any feed
      // the replica would fail closed instead (503 key_verification_unavailable: replicas.e2e-spec.ts).
      hunze = await startTestApp({
        ...appOptions(upstream),
        databaseUrl: proxied.url,
        redisUrl: 'redis://127.0.0.1:6379',
      });
      const { key } = await hunze.createKey({ name: 'usage-outage' });
      client = new OpenAI({ apiKey: key, baseURL: hunze.baseURL, maxRetries: 0, timeout: 5000 });
      direct = new Client({ connectionString: database.url });
      await direct.connect();
    });
    afterAll(async () => {
      proxy.resume();
      await hunze.close();
      await proxy.close();
      await direct.end();
      await database.drop();
    });

    const loggedSince = (line: number, evt: string) =>
      hunze.logLines.slice(line).some((l) => (JSON.parse(l) as { evt: string }).evt === evt);

    /**
     * Chats one after another, 40 ms apart, for at least `durationMs` and until `enough` holds (bounded in
     * count and time); returns their ids and latencies.
     */
    async function chatFor(
      durationMs: number,
      prefix: string,
      enough: (ids: string[]) => boolean = () => true,
    ): Promise<{ ids: string[]; latencies: number[] }> {
      const ids: string[] = [];
      const latencies: number[] = [];
      const start = Date.now();
      const more = () => Date.now() - start < durationMs || !enough(ids);
      while (more() && ids.length < 200 && Date.now() - start < WAIT_MS) {
        const id = `${prefix}-${ids.length}-${randomUUID()}`;
        const sent = performance.now();
        await client.chat.completions.create(
          { model: 'qwen', messages: [{ role: 'user', content: 'hi' }], stream: ids.length % 2 === 0 },
          chatOptions(id),
        );
        latencies.push(performance.now() - sent);
        ids.push(id);
        await new Promise((r) => setTimeout(r, 40));
      }
      return { ids, latencies };
    }

    it.each([
      ['paused (like SIGSTOP on the postmaster)', () => proxy.pause()],
      ['cut (connections reset, new ones refused)', () => proxy.cut()],
    ])(
      'database %s: requests stay fast and every record arrives once afterwards',
      async (_what, takeAway) => {
        const warm = await chatFor(300, 'usage-warm');
        await waitFor(() => exactlyOnce(query, warm.ids), WAIT_MS);
        const logLinesBefore = hunze.logLines.length;

        takeAway();
        // Through the writer giving up and spooling, and on with requests while it spools, however slowly
        // the machine gets there.
        const during = await chatFor(
          4000,
          'usage-outage',
          (ids) => ids.length > 20 && loggedSince(logLinesBefore, 'usage_spooling_started'),
        );
        // The database really was out of reach: none of these rows is there yet.
        expect((await countsOf(query, during.ids)).size).toBe(0);
        proxy.resume();

        expect(during.ids.length).toBeGreaterThan(20);
        expect(loggedSince(logLinesBefore, 'usage_spooling_started')).toBe(true);
        // Never waiting for the database: all of them were answered before the resume, and a request path that
        // waited for the write would have held every request at least the insert timeout (paused), so even the
        // median would reach it. The median, not the slowest: a loaded machine delays some requests that long.
        const sorted = [...during.latencies].sort((x, y) => x - y);
        expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(USAGE_WRITER_LIMITS.insertTimeoutMs);
        await waitFor(() => exactlyOnce(query, during.ids), WAIT_MS, 100);
        // Logged once the last spooled segment is in, a moment after its rows show.
        await waitFor(async () => loggedSince(logLinesBefore, 'usage_spool_replayed'), WAIT_MS);
        // Back to direct writes: a new record arrives without a replay.
        const after = await chatFor(100, 'usage-after');
        await waitFor(() => exactlyOnce(query, after.ids), WAIT_MS);
      },
    );
  });

  describePostgres('crash while records wait in the spool', () => {
    it('a SIGKILLed server loses nothing: the restarted one replays the spool exactly once', async () => {
      const database = await freshPostgresDatabase();
      const { proxy, url } = await TcpProxy.forDatabaseUrl(database.url);
      const tmp = mkdtempSync(join(tmpdir(), 'hunze-usage-crash-'));
      const configPath = join(tmp, 'hunze.yaml');
      writeFileSync(configPath, configYaml(appOptions(upstream)));
      const env = { HUNZE_CONFIG: configPath, HUNZE_DATA_DIR: join(tmp, 'data'), HUNZE_ADMIN_KEY: ADMIN_KEY };
      const direct = new Client({ connectionString: database.url });
      await direct.connect();
      const query: Query = async (sql, params) => (await direct.query(sql, params)).rows;
      let server: ServeChild | undefined;
      try {
        server = await startServe({ ...env, DATABASE_URL: url });
        const made = await adminCall(server.url, 'POST', '/keys', { key: ADMIN_KEY }, { name: 'crash' });
        expect(made.status).toBe(201);
        const client = new OpenAI({ apiKey: made.body.key, baseURL: `${server.url}/v1`, maxRetries: 0 });
        const chat = (id: string) =>
          client.chat.completions.create(
            { model: 'qwen', messages: [{ role: 'user', content: 'hi' }] },
            chatOptions(id),
          );

        proxy.pause();
        const ids = Array.from({ length: 30 }, (_, i) => `usage-crash-${i}-${randomUUID()}`);
        for (const id of ids) await chat(id);
        // Spooled: the writer gave up on the paused database (2 s) and put every record on disk.
        const running = server;
        await waitFor(async () => /"evt":"usage_spooling_started"/.test(running.stdout()), WAIT_MS, 50);
        await waitFor(async () => spoolDepth(await metrics(running.url)) >= ids.length, WAIT_MS, 50);
        server.child.kill('SIGKILL');
        await server.stop();
        server = undefined;
        // Drop the connections the proxy still holds: resuming them would deliver the killed process's last
        // (timed-out) insert after its death, which is not what a crash looks like.
        proxy.cut();
        expect((await countsOf(query, ids)).size).toBe(0);

        server = await startServe({ ...env, DATABASE_URL: database.url });
        await waitFor(() => exactlyOnce(query, ids), WAIT_MS, 100);
        const restarted = server;
        await waitFor(async () => /"evt":"usage_spool_replayed"/.test(restarted.stdout()), WAIT_MS);
        expect(spoolDepth(await metrics(server.url))).toBe(0);
      } finally {
        await server?.stop();
        await proxy.close();
        await direct.end();
        await database.drop();
        rmSync(tmp, { recursive: true, force: true });
      }
    });
  });
});

/** Rows per request id, read from PostgreSQL or from the PGlite directory a stopped server left. */
async function usageCounts(
  databaseUrl: string | undefined,
  dataDir: string,
  ids: string[],
): Promise<Map<string, number>> {
  if (databaseUrl) {
    const pg = new Client({ connectionString: databaseUrl });
    await pg.connect();
    try {
      return await countsOf(async (sql, params) => (await pg.query(sql, params)).rows, ids);
    } finally {
      await pg.end();
    }
  }
  const pglite = createDataSource({ databaseUrl: undefined, dataDir }, ENTITIES);
  await pglite.initialize();
  try {
    return await countsOf((sql, params) => pglite.query(sql, params), ids);
  } finally {
    await pglite.destroy();
  }
}

async function metrics(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

function spoolDepth(text: string): number {
  const match = /^hunze_usage_spool_depth (\d+)/m.exec(text);
  return match ? Number(match[1]) : NaN;
}
