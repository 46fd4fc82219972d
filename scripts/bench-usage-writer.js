#!/usr/bin/env node
// Usage writer throughput into PostgreSQL (target: 10,000 records/s, shared/DESIGN.md "Targets").
// Creates a fresh database, runs the migrations, and drives the real UsageWriter from dist/ (build first):
//   1. burst: enqueue N records at once (timing enqueue itself, the part on the request path), time until the
//      last one is in usage_records;
//   2. paced: 10,000 records/s for 10 s, report how far the writer falls behind (queue depth, lag, drain time).
// Usage: npm run build && node scripts/bench-usage-writer.js [records=100000]
// PostgreSQL admin URL: HUNZE_BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).
'use strict';
require('reflect-metadata');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Writable } = require('node:stream');
const { Client } = require('pg');

const dist = join(__dirname, '..', 'dist');
const { createDataSource, migrate } = require(join(dist, 'database', 'data-source'));
const { ENTITIES } = require(join(dist, 'entities'));
const { MetricsService } = require(join(dist, 'metering', 'metrics.service'));
const { UsageRecordsRepository } = require(join(dist, 'metering', 'usage-records.repository'));
const { UsageWriter } = require(join(dist, 'metering', 'usage-writer'));
const { AppLogger } = require(join(dist, 'telemetry', 'logger'));

const ADMIN_URL = process.env.HUNZE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BURST = Number(process.argv[2] ?? 100_000);
const PACED_RATE = 10_000;
const PACED_SECONDS = 10;

function record(i) {
  return {
    time: new Date().toISOString(),
    requestId: `req_bench_${i}`,
    method: 'POST',
    endpoint: '/v1/chat/completions',
    status: 200,
    latencyMs: 12.345,
    keyId: 'c0ffee00-0000-4000-8000-000000000000',
    account: 'bench',
    model: 'Qwen/Qwen3.6-35B-A3B-FP8',
    upstream: 'gro-a40-1',
    failovers: 0,
    stream: i % 2 === 0,
    promptTokens: 120,
    completionTokens: 380,
    totalTokens: 500,
    ttftMs: 40.5,
  };
}

async function admin(sql) {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function count(dataSource) {
  const [row] = await dataSource.query('SELECT count(*)::int AS n FROM usage_records');
  return row.n;
}

async function waitForCount(dataSource, n, timeoutMs) {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if ((await count(dataSource)) >= n) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`only ${await count(dataSource)} of ${n} records arrived within ${timeoutMs} ms`);
}

async function main() {
  const name = `hunze_bench_${process.pid}_${Date.now()}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'hunze-bench-'));
  const config = { databaseUrl: url.toString(), dataDir, file: { models: [], upstreams: [] } };
  const dataSource = createDataSource(config, ENTITIES);
  await dataSource.initialize();
  await migrate(dataSource);
  const quiet = new Writable({ write: (_c, _e, done) => done() });
  const writer = new UsageWriter(
    new UsageRecordsRepository(dataSource),
    config,
    new MetricsService(),
    new AppLogger('warn', quiet),
  );
  await writer.onModuleInit();
  writer.onApplicationBootstrap();
  try {
    // 1. Burst.
    const burstStart = process.hrtime.bigint();
    for (let i = 0; i < BURST; i++) writer.enqueue(record(i));
    // enqueue is synchronous: this is its cost on the request path (row, UUID, write() to the spool).
    const enqueueMicros = Number(process.hrtime.bigint() - burstStart) / 1e3 / BURST;
    console.log(`enqueue: ${enqueueMicros.toFixed(1)} µs per record (includes building the test record)`);
    await waitForCount(dataSource, BURST, 120_000);
    const burstSeconds = Number(process.hrtime.bigint() - burstStart) / 1e9;
    console.log(
      `burst:  ${BURST} records in ${burstSeconds.toFixed(2)} s = ${Math.round(BURST / burstSeconds)} records/s`,
    );

    // 2. Paced: 100 records every 10 ms.
    const before = await count(dataSource);
    const total = PACED_RATE * PACED_SECONDS;
    let sent = 0;
    let maxQueue = 0;
    const pacedStart = Date.now();
    while (sent < total) {
      const due = Math.min(total, Math.floor(((Date.now() - pacedStart) / 1000) * PACED_RATE));
      for (; sent < due; sent++) writer.enqueue(record(BURST + sent));
      maxQueue = Math.max(maxQueue, writer['spool'].depth);
      await new Promise((r) => setTimeout(r, 10));
    }
    const sendSeconds = (Date.now() - pacedStart) / 1000;
    const drainStart = Date.now();
    await waitForCount(dataSource, before + total, 60_000);
    const drainMs = Date.now() - drainStart;
    console.log(
      `paced:  ${total} records offered at ${Math.round(total / sendSeconds)}/s; max queue ${maxQueue}, ` +
        `all in ${drainMs} ms after the last was enqueued`,
    );
  } finally {
    await writer.onApplicationShutdown();
    await dataSource.destroy();
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
