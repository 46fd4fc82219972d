// Starts Hunze as an operator would (`node dist/cli.js serve`) with every feature on, against a fresh
// PostgreSQL database, and creates the API key the load uses.
'use strict';
const { mkdtempSync, openSync, closeSync, rmSync, writeFileSync, statSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Client } = require('pg');
const { startChild } = require('./child');

const REPO = join(__dirname, '..', '..');
const ADMIN_URL = process.env.HUNZE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.HUNZE_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const OFF = (process.env.BENCH_OFF ?? '').split(',');
const ADMIN_KEY = 'bench-break-glass-admin-key-0123456789';

/** What the bench turns on, printed with the results so a reader knows what was measured. */
const FEATURES = [
  'auth (API key, cached after first use)',
  'rate limits shared through Redis (key rpm/tpm/monthly quota set, never reached; counts exchanged every 20 ms, the redis.rateLimitSyncMs default)',
  'metering: Prometheus metrics + usage records into PostgreSQL',
  'residency guard (networks 127.0.0.0/8, checked per upstream connection)',
  'metadata-only request log at info level (to a file)',
  'OTLP tracing + metrics to a local collector every 5 s',
  'active upstream health checks every 10 s',
];

async function adminQuery(sql) {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function configYaml({ vllm, tei, otlp, model, embeddingModel }) {
  const upstream = (id, baseUrl) => `
  - id: ${id}
    baseUrl: ${baseUrl}
    location: { country: NL, city: Groningen, site: Bench DC }
    operator: { name: Bench Hosting B.V., country: NL }
    networks: [127.0.0.0/8]
    maxConnections: 4096
    healthCheck: { intervalSeconds: 10 }`;
  return `appliance:
  name: Hunze Bench
  operator: { name: Bench Operator B.V., address: "Benchstraat 1, Groningen", country: NL, contact: privacy@bench.example }
server: { host: 127.0.0.1, port: 0, bodyLimitMb: 25, shutdownGraceSeconds: 1 }
auth: { adminKey: env:HUNZE_ADMIN_KEY }
residency: { allowedRegions: [EEA] }
upstreams:${upstream('vllm-bench', vllm)}${upstream('tei-bench', tei)}
models:
  - id: ${JSON.stringify(model)}
    kind: chat
    upstreams: [vllm-bench]
  - id: ${JSON.stringify(embeddingModel)}
    kind: embedding
    upstreams: [tei-bench]
${OFF.includes('otlp') ? '' : `telemetry: { otlpEndpoint: ${JSON.stringify(otlp)}, otlpNetworks: [127.0.0.0/8], otlpIntervalSeconds: 5 }`}
${OFF.includes('redis') ? '' : `redis: { url: ${JSON.stringify(REDIS_URL)} }`}
`;
}

/**
 * Starts `hunze serve`; `nodeArgs` e.g. ['--cpu-prof', '--cpu-prof-dir', dir] for the profiling run.
 * Resolves once it listens and the bench key exists.
 */
async function startHunze(fakes, { nodeArgs = [] } = {}) {
  const workDir = mkdtempSync(join(tmpdir(), 'hunze-bench-'));
  const dbName = `hunze_bench_${process.pid}_${Date.now()}`;
  await adminQuery(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(ADMIN_URL);
  dbUrl.pathname = `/${dbName}`;
  const configPath = join(workDir, 'hunze.yaml');
  writeFileSync(configPath, configYaml(fakes));
  const logFile = join(workDir, 'hunze.log');
  const logFd = openSync(logFile, 'w');
  const env = { ...process.env, HUNZE_CONFIG: configPath, HUNZE_DATA_DIR: join(workDir, 'data') };
  for (const name of ['PORT', 'HOST', 'REDIS_URL']) delete env[name];
  Object.assign(env, {
    DATABASE_URL: dbUrl.toString(),
    HUNZE_ADMIN_KEY: ADMIN_KEY,
    HUNZE_LOG_LEVEL: OFF.includes('log') ? 'warn' : 'info',
  });
  let server;
  try {
    server = await startChild('hunze serve', [...nodeArgs, join(REPO, 'dist', 'cli.js'), 'serve'], {
      cwd: workDir,
      env,
      stdout: logFd,
      ready: /Hunze is listening on (http:\/\/\S+) /,
      timeoutMs: 60_000,
      graceMs: 15_000,
    });
  } finally {
    closeSync(logFd);
  }
  const url = server.match[1].replace('localhost', '127.0.0.1');
  const key = await createKey(url);
  return {
    name: 'hunze',
    url,
    pid: server.child.pid,
    key,
    logFile,
    features: FEATURES,
    logBytes: () => statSync(logFile).size,
    async stop() {
      const result = await server.stop();
      await adminQuery(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
      rmSync(workDir, { recursive: true, force: true });
      return result;
    },
    /** Usage records written so far (proves metering reached PostgreSQL). */
    async usageRecords() {
      const client = new Client({ connectionString: dbUrl.toString() });
      await client.connect();
      try {
        const { rows } = await client.query('SELECT count(*)::int AS n FROM usage_records');
        return rows[0].n;
      } finally {
        await client.end();
      }
    },
  };
}

/** A user key with limits far above anything the bench sends: every limit is evaluated, none refuses. */
async function createKey(url) {
  const response = await fetch(`${url}/admin/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'bench',
      ...(OFF.includes('limits')
        ? {}
        : { rpm: 10_000_000, tpm: 2_000_000_000, monthly_tokens: 1_000_000_000_000_000 }),
    }),
  });
  const body = await response.json();
  if (response.status !== 201) throw new Error(`creating the bench key failed: ${JSON.stringify(body)}`);
  return body.key;
}

module.exports = { startHunze };
