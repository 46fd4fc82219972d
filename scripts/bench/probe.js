#!/usr/bin/env node
// Developer loop for the performance targets: direct vs Hunze throughput (50 connections), CPU per request, and with
// --prof a --cpu-prof summary of Hunze. Not part of `npm run bench`; run after `npm run bench` built once
// (or `npm run build && npx tsc -p tsconfig.bench.json`).  node scripts/bench/probe.js [--prof] [--rounds N]
'use strict';
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { startFakes } = require('./fakes');
const { startHunze } = require('./hunze');
const { directSystem, hunzeSystem, chatBody } = require('./systems');
const { maxThroughput } = require('./load/throughput');
const { pacedLatency } = require('./load/paced');
const { cpuMs, threadCpuMs } = require('./proc');
const { summarize, inclusive, readProfile } = require('./profile');

function threads(pid, t0) {
  const t1 = threadCpuMs(pid);
  return Object.entries(t1)
    .map(([k, v]) => [k, v - (t0[k] ?? 0)])
    .filter(([, d]) => d > 0)
    .map(([k, d]) => `${k}=${d}ms`)
    .join(' ');
}
async function main() {
  const args = process.argv.slice(2);
  const prof = args.includes('--prof');
  const rounds = Number(args[args.indexOf('--rounds') + 1]) || 2;
  const seconds = 5;
  const fakes = await startFakes();
  const dir = mkdtempSync(join(tmpdir(), 'probe-prof-'));
  const extra = process.env.HUNZE_NODE_ARGS ? process.env.HUNZE_NODE_ARGS.split(' ') : [];
  const hunze = await startHunze(fakes, {
    nodeArgs: [...extra, ...(prof ? ['--cpu-prof', '--cpu-prof-dir', dir] : [])],
  });
  const systems = [directSystem(fakes), hunzeSystem(hunze)];
  const body = chatBody(fakes.model);
  let window;
  try {
    for (const s of systems)
      await maxThroughput({ url: s.chatUrl, headers: s.chatHeaders, body, connections: 50, seconds: 1 });
    const from = process.hrtime.bigint();
    for (let r = 0; r < (args.includes('--only-paced') ? 0 : rounds); r++)
      for (const s of systems) {
        const w0 = process.hrtime.bigint();
        const g0 = cpuMs(s.pid);
        const t0 = threadCpuMs(s.pid);
        const u0 = cpuMs(fakes.pid);
        const res = await maxThroughput({
          url: s.chatUrl,
          headers: s.chatHeaders,
          body,
          connections: 50,
          seconds,
        });
        const per = (ms) => ((ms * 1000) / Math.max(1, res.requests)).toFixed(0);
        if (s.name === 'hunze') console.log(threads(s.pid, t0));
        if (s.name === 'hunze')
          window = { fromUs: Number(w0 / 1000n), toUs: Number(process.hrtime.bigint() / 1000n) };
        console.log(
          `${s.name.padEnd(6)} ${res.rps.toFixed(0).padStart(6)} req/s  cpu/req ${s.name === 'direct' ? '-' : per(cpuMs(s.pid) - g0)} us  upstream ${per(cpuMs(fakes.pid) - u0)} us  failed ${res.failed}`,
        );
      }
    if (args.includes('--paced'))
      for (let r = 0; r < rounds; r++)
        for (const s of systems) {
          const c0 = cpuMs(s.pid);
          const w0 = process.hrtime.bigint();
          const p = await pacedLatency({
            url: s.chatUrl,
            headers: s.chatHeaders,
            body,
            rate: 500,
            seconds: 5,
          });
          const n = p.count ?? p.requests ?? 2500 + 1000;
          if (s.name === 'hunze')
            window = { fromUs: Number(w0 / 1000n), toUs: Number(process.hrtime.bigint() / 1000n) };
          console.log(
            `${s.name} paced 500/s p50 ${p.p50.toFixed(2)} p99 ${p.p99.toFixed(2)} failed ${p.failed} cpu/req ${(((cpuMs(s.pid) - c0) * 1000) / 3500).toFixed(0)} us (incl. warm-up)`,
          );
        }
  } finally {
    if (process.env.KEEP_LOG) require('node:fs').copyFileSync(hunze.logFile, process.env.KEEP_LOG);
    await hunze.stop();
    await fakes.stop();
  }
  if (prof) {
    const profile = readProfile(dir);
    const s = summarize(profile, 40, window);
    console.log(`idle ${(s.idleShare * 100).toFixed(1)} %`);
    for (const o of s.owners) console.log(`  ${(o.share * 100).toFixed(1).padStart(5)} %  ${o.name}`);
    for (const f of s.functions) console.log(`  ${(f.share * 100).toFixed(1).padStart(5)} %  ${f.name}`);
    console.log('inclusive (hunze):');
    for (const f of inclusive(profile, / dist\//, 40, window))
      console.log(`  ${(f.share * 100).toFixed(1).padStart(5)} %  ${f.name}`);
    console.log('inclusive (libs):');
    for (const f of inclusive(
      profile,
      /^\S+ (@nestjs|fastify\/lib|undici\/lib|ioredis|pino|prom-client|@opentelemetry|class-validator|class-transformer)/,
      40,
      window,
    ))
      console.log(`  ${(f.share * 100).toFixed(1).padStart(5)} %  ${f.name}`);
    if (!process.env.KEEP_PROF) rmSync(dir, { recursive: true, force: true });
    else console.log(`profile dir ${dir}`);
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(2);
});
