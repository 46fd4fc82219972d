// Starts a real Hunze on a real socket for e2e tests: its own fresh database (a new PostgreSQL database,
// or PGlite in a temporary directory, chosen by the Jest project), a config pointing at fake upstreams,
// and a logger whose output is kept in memory so tests can search it.
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import type { CreateKeyDto } from '../../src/auth/dto/create-key.dto';
import { KeysService } from '../../src/auth/keys.service';
import { parseConfig } from '../../src/config/config.loader';
import type { HunzeConfig } from '../../src/config/hunze-config';
import { createApp } from '../../src/main';
import { AppLogger } from '../../src/telemetry/logger';
import { trackLeftover } from './leftovers';

export const ADMIN_KEY = 'test-break-glass-admin-key-0123456789';
export const usingPostgres = () => process.env.HUNZE_TEST_DB === 'postgres';

export interface TestUpstream {
  id: string;
  baseUrl: string;
  apiKey?: string;
  timeouts?: { connectMs?: number; firstByteMs?: number; idleMs?: number };
  /** Active health checks; off unless given, so tests control upstream health themselves. */
  healthCheck?: { intervalSeconds: number; path?: string; timeoutMs?: number };
  circuitBreaker?: { failures: number; openSeconds: number };
  /** Declared networks for the residency guard; [127.0.0.0/8] unless given. */
  networks?: string[];
  /** TLS for an https baseUrl: the CA file's path and the expected server name. */
  tls?: { ca?: string; serverName?: string };
}

export interface TestModel {
  id: string;
  aliases?: string[];
  kind?: 'chat' | 'embedding' | 'image' | 'audio';
  upstreams: string[];
  /** Routing hints for model "auto" and the response cache (`cache.ttlSeconds`). */
  quality?: number;
  costPerMTokens?: number;
  cacheTtlSeconds?: number;
  /** `retries` (none unless given). */
  retries?: { attempts: number; backoffMs: number };
}

export interface TestAppOptions {
  upstreams: TestUpstream[];
  models: TestModel[];
  bodyLimitMb?: number;
  /** More `server` keys (bodyReadTimeoutMs, maxHeaderBytes, ...). */
  server?: Record<string, number>;
  redisUrl?: string;
  /** redis.networks; none (loopback only) unless given. */
  redisNetworks?: string[];
  /** redis.rateLimitSyncMs (the config default when unset). */
  rateLimitSyncMs?: number;
  /** redis.commandTimeoutMs (the config default when unset). */
  redisCommandTimeoutMs?: number;
  /** Reuse another test app's database (two replicas on one Postgres). */
  databaseOf?: TestApp;
  /** A PostgreSQL URL to use as is (e.g. through test/helpers/tcp-proxy.ts); the test owns that database. */
  databaseUrl?: string;
  extraYaml?: string;
  /** HUNZE_DATA_DIR as given (it may not exist yet; the test removes it); else a fresh temporary one. */
  dataDir?: string;
}

export interface TestApp {
  app: NestFastifyApplication;
  config: HunzeConfig;
  url: string;
  /** What an openai SDK's baseURL is set to. */
  baseURL: string;
  databaseUrl: string | undefined;
  logLines: string[];
  createKey(dto?: Partial<CreateKeyDto>): Promise<{ id: string; key: string }>;
  close(): Promise<void>;
}

export function configYaml(options: TestAppOptions): string {
  const upstreams = options.upstreams
    .map(
      (u) => `
  - id: ${u.id}
    baseUrl: ${u.baseUrl}
${u.apiKey ? `    apiKey: ${u.apiKey}\n` : ''}    location: { country: NL, city: Groningen, site: Test DC }
    operator: { name: Test Hosting B.V., country: NL }
    networks: [${(u.networks ?? ['127.0.0.0/8']).join(', ')}]
    timeouts: { connectMs: ${u.timeouts?.connectMs ?? 2000}, firstByteMs: ${u.timeouts?.firstByteMs ?? 10000}, idleMs: ${u.timeouts?.idleMs ?? 10000} }
    healthCheck: ${JSON.stringify({ intervalSeconds: 0, ...u.healthCheck })}${u.circuitBreaker ? `\n    circuitBreaker: ${JSON.stringify(u.circuitBreaker)}` : ''}${u.tls ? `\n    tls: ${JSON.stringify(u.tls)}` : ''}`,
    )
    .join('');
  const models = options.models
    .map(
      (m) => `
  - id: ${JSON.stringify(m.id)}
    aliases: ${JSON.stringify(m.aliases ?? [])}
    kind: ${m.kind ?? 'chat'}
    upstreams: ${JSON.stringify(m.upstreams)}${modelHints(m)}`,
    )
    .join('');
  return `appliance:
  name: Hunze Test
  operator: { name: Test Operator B.V., address: "Teststraat 1, Groningen", country: NL, contact: privacy@test.example }
server: { host: 127.0.0.1, port: 0, bodyLimitMb: ${options.bodyLimitMb ?? 25}, shutdownGraceSeconds: 0.2${serverExtras(options)} }
auth: { adminKey: env:HUNZE_ADMIN_KEY }
residency: { allowedRegions: [EEA] }
upstreams:${upstreams}
models:${models}
redis: { url: ${options.redisUrl ? JSON.stringify(options.redisUrl) : 'null'}${options.rateLimitSyncMs === undefined ? '' : `, rateLimitSyncMs: ${options.rateLimitSyncMs}`}${options.redisCommandTimeoutMs === undefined ? '' : `, commandTimeoutMs: ${options.redisCommandTimeoutMs}`}${options.redisNetworks ? `, networks: ${JSON.stringify(options.redisNetworks)}` : ''} }
${options.extraYaml ?? ''}`;
}

function serverExtras(options: TestAppOptions): string {
  return Object.entries(options.server ?? {})
    .map(([name, value]) => `, ${name}: ${value}`)
    .join('');
}

function modelHints(m: TestModel): string {
  const lines = [
    m.quality === undefined ? '' : `quality: ${m.quality}`,
    m.costPerMTokens === undefined ? '' : `costPerMTokens: ${m.costPerMTokens}`,
    m.cacheTtlSeconds === undefined ? '' : `cache: { ttlSeconds: ${m.cacheTtlSeconds} }`,
    m.retries === undefined ? '' : `retries: ${JSON.stringify(m.retries)}`,
  ];
  return lines
    .filter(Boolean)
    .map((line) => `\n    ${line}`)
    .join('');
}

export async function freshPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl = process.env.HUNZE_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `hunze_e2e_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function startTestApp(options: TestAppOptions): Promise<TestApp> {
  let databaseUrl: string | undefined;
  let dropDatabase = async () => undefined as void;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'hunze-e2e-'));
  if (options.databaseUrl) {
    databaseUrl = options.databaseUrl;
  } else if (options.databaseOf) {
    databaseUrl = options.databaseOf.databaseUrl;
  } else if (usingPostgres()) {
    const db = await freshPostgresDatabase();
    databaseUrl = db.url;
    dropDatabase = db.drop;
  }
  const env = {
    HUNZE_ADMIN_KEY: ADMIN_KEY,
    HUNZE_DATA_DIR: dataDir,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  };
  const config = parseConfig(configYaml(options), env);
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = new AppLogger('info', sink);
  // The stop is on record before the start is awaited: a start that passes the hook's timeout still
  // completes later, and must then be closed by someone.
  const starting = (async () => {
    const app = await createApp({ config, logger });
    await app.listen(0, '127.0.0.1');
    return app;
  })();
  const close = trackLeftover('test app', async () => {
    const app = await starting.catch(() => undefined);
    await app?.close();
    logger.flush();
    await dropDatabase();
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  const app = await starting.catch(async (error: unknown) => {
    await close();
    throw error;
  });
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    app,
    config,
    url,
    baseURL: `${url}/v1`,
    databaseUrl,
    logLines,
    async createKey(dto = {}) {
      const created = await app.get(KeysService).create({ name: 'test', ...dto });
      return { id: created.id, key: created.key };
    },
    close,
  };
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns the time it took. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  stepMs = 20,
): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await check()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
