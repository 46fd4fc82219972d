#!/usr/bin/env node
// `npm run bench`: the fake upstreams in their own process, Hunze with every feature on, and the
// Portkey gateway, all on 127.0.0.1; the same load against each; the table printed and written to
// docs/benchmarks.md with SVG charts; exit code 1 naming every missed target.
// This process only generates load and measures: no gateway or upstream runs in it.
'use strict';
const { existsSync, mkdtempSync, rmSync } = require('node:fs');
const { tmpdir, loadavg } = require('node:os');
const { join } = require('node:path');
const { startFakes } = require('./fakes');
const { startHunze } = require('./hunze');
const { startPortkey } = require('./portkey');
const { startFloor, startNestFloor } = require('./floor');
const { parseOptions } = require('./options');
const {
  directSystem,
  hunzeSystem,
  portkeySystem,
  chatBody,
  embeddingsBody,
  checkSystem,
} = require('./systems');
const { maxThroughput } = require('./load/throughput');
const { pacedLatency } = require('./load/paced');
const { timeToFirstToken, relaySpread, openStreams, cancelDelay } = require('./load/streams');
const { sequentialLatency } = require('./load/sequential');
const { soak } = require('./load/soak');
const { largeBodies } = require('./load/large-bodies');
const { runUsageWriterBench } = require('./usage-writer');
const { cpuMs } = require('./proc');
const { summarize, inclusive, readProfile } = require('./profile');
const { evaluateTargets } = require('./targets');
const { writeDocs, printSummary } = require('./report');
const { machineInfo } = require('./machine');

const REPO = join(__dirname, '..', '..');
const PACED_RATE = 500;
const started = Date.now();
const log = (msg) =>
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${msg}\n`);

/** Runs `fn` for each system in turn, collecting `{ [name]: result }`. */
async function each(systems, label, fn) {
  const out = {};
  for (const system of systems) {
    log(`${label}: ${system.name}`);
    out[system.name] = await fn(system);
  }
  return out;
}

/**
 * Lets the aftermath of a saturation phase pass before a latency phase: Hunze's usage rows queued during it
 * reach PostgreSQL (at most 15 s), then 2 s of quiet. Latency at a steady rate is measured at steady state.
 */
async function settle(gateways) {
  const hunze = gateways.find((g) => g.name === 'hunze');
  const deadline = Date.now() + 15_000;
  while (hunze && Date.now() < deadline) {
    const text = await (await fetch(hunze.metricsUrl)).text();
    const depth = /^hunze_usage_queue_depth (\d+)/m.exec(text);
    if (!depth || depth[1] === '0') break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await new Promise((resolve) => setTimeout(resolve, 2_000));
}

/** Throughput with the CPU time the gateway and the upstream process spent per answered request. */
async function throughputWithCpu(system, fakes, body, connections, seconds) {
  const gateway0 = system.name === 'direct' ? 0 : cpuMs(system.pid);
  const upstream0 = cpuMs(fakes.pid);
  const result = await maxThroughput({
    url: system.chatUrl,
    headers: system.chatHeaders,
    body,
    connections,
    seconds,
  });
  const perRequest = (ms) => (ms * 1000) / Math.max(1, result.requests);
  return {
    ...result,
    cpuUsPerRequest: system.name === 'direct' ? NaN : perRequest(cpuMs(system.pid) - gateway0),
    upstreamCpuUsPerRequest: perRequest(cpuMs(fakes.pid) - upstream0),
  };
}

async function measure(plan, fakes, systems, failed, floor, nestFloor) {
  const gateways = systems.filter((s) => s.name !== 'direct');
  const chat = chatBody(fakes.model);
  const streamBody = chatBody(fakes.model, { stream: true });
  const count = (name, n) => {
    if (name in failed) failed[name] += n || 0;
  };
  const r = {};

  r.throughput = await each(systems, 'max throughput, 50 connections', async (s) => {
    const result = await throughputWithCpu(s, fakes, chat, 50, plan.throughputSeconds);
    count(s.name, result.failed);
    return result;
  });
  const references = [floor, nestFloor];
  log('max throughput, 50 connections: bare relay (reference)');
  r.floor = await throughputWithCpu(floor, fakes, chat, 50, plan.throughputSeconds);
  log('max throughput, 50 connections: bare relay as a NestJS app (reference)');
  r.nestFloor = await throughputWithCpu(nestFloor, fakes, chat, 50, plan.throughputSeconds);
  await settle(gateways);
  // The bare relays are measured beside the systems at the steady rate and for the first token too: what a
  // gateway with no features adds over calling the upstream directly, on this machine, in this run.
  r.paced = await each([...systems, ...references], `latency at ${PACED_RATE} req/s`, async (s) => {
    const result = await pacedLatency({
      url: s.chatUrl,
      headers: s.chatHeaders,
      body: chat,
      rate: PACED_RATE,
      seconds: plan.pacedSeconds,
    });
    count(s.name, result.failed);
    return result;
  });
  r.ttft = await each([...systems, ...references], 'time to first token', (s) =>
    timeToFirstToken(fakes, s, streamBody, plan.ttftCount),
  );
  for (const reference of references) await reference.stop();
  r.relay = await each(systems, 'chunk relay', (s) => relaySpread(fakes, s, streamBody));
  r.cancel = await each(systems, 'cancellation', (s) => cancelDelay(fakes, s, streamBody, plan.cancelCount));

  const streams = { xs: plan.streams };
  for (const g of gateways) streams[g.name] = [];
  for (const n of plan.streams)
    for (const g of gateways) {
      log(`open streams: ${n} through ${g.name}`);
      streams[g.name].push(await openStreams(fakes, g, streamBody, n, g.pid));
    }
  const at = plan.streams.indexOf(plan.openStreams);
  r.openStreams = Object.fromEntries(gateways.map((g) => [g.name, streams[g.name][at]]));

  const connections = { xs: plan.connections.xs };
  for (const s of systems) connections[s.name] = [];
  for (const n of plan.connections.xs)
    for (const s of systems) {
      log(`throughput curve: ${n} connections, ${s.name}`);
      const result = await maxThroughput({
        url: s.chatUrl,
        headers: s.chatHeaders,
        body: chat,
        connections: n,
        seconds: plan.connections.seconds,
      });
      count(s.name, result.failed);
      connections[s.name].push(result);
    }

  const curve = async (label, spec, request) => {
    const out = { xs: spec.xs };
    for (const s of systems) out[s.name] = [];
    for (const [i, x] of spec.xs.entries())
      for (const s of systems) {
        log(`${label}: ${x}, ${s.name}`);
        const result = await sequentialLatency({ ...request(s, x), count: spec.counts[i] });
        count(s.name, result.failed);
        out[s.name].push(result);
      }
    return out;
  };
  const promptSize = await curve('prompt size', plan.promptSizes, (s, bytes) => ({
    url: s.chatUrl,
    headers: s.chatHeaders,
    body: chatBody(fakes.model, { promptBytes: bytes }),
  }));
  const embeddings = await curve('embedding batch', plan.embeddingBatches, (s, inputs) => ({
    url: s.embeddingsUrl,
    headers: s.embeddingHeaders,
    body: embeddingsBody(fakes.embeddingModel, inputs),
  }));
  r.scaling = { connections, streams, promptSize, embeddings };

  const hunze = systems.find((s) => s.name === 'hunze');
  log('large bodies: linearity and the stall beside them (Hunze)');
  r.largeBodies = await largeBodies(hunze, chat, plan.largeBodies);
  count('hunze', r.largeBodies.failed);
  return r;
}

/** A second Hunze under --cpu-prof, loaded like the throughput phase; self and inclusive time by function. */
async function profileHunze(fakes, seconds) {
  const dir = mkdtempSync(join(tmpdir(), 'hunze-cpuprof-'));
  const hunze = await startHunze(fakes, { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir] });
  const system = hunzeSystem(hunze);
  const body = chatBody(fakes.model);
  let window;
  let rps;
  try {
    await maxThroughput({
      url: system.chatUrl,
      headers: system.chatHeaders,
      body,
      connections: 50,
      seconds: 2,
    });
    const from = process.hrtime.bigint();
    ({ rps } = await maxThroughput({
      url: system.chatUrl,
      headers: system.chatHeaders,
      body,
      connections: 50,
      seconds,
    }));
    window = { fromUs: Number(from / 1000n), toUs: Number(process.hrtime.bigint() / 1000n) };
  } finally {
    await hunze.stop(); // the profile is written as the process exits
  }
  try {
    const profile = readProfile(dir);
    const own =
      /^\S+ (dist\/|@nestjs|fastify\/lib|undici\/lib|ioredis|pino|prom-client|@opentelemetry|class-validator)/;
    return {
      seconds,
      rps,
      ...summarize(profile, 25, window),
      hunzeInclusive: inclusive(profile, / dist\//, 20, window),
      libraryInclusive: inclusive(profile, own, 30, window),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  for (const built of ['dist/cli.js', 'dist-bench/fakes/fake-vllm.js'])
    if (!existsSync(join(REPO, built)))
      throw new Error(`${built} is missing: run through npm run bench (it builds first)`);
  const loadAtStart = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  log(
    `${options.quick ? 'quick' : 'full'} run${options.soak ? ' with soak' : ''}; load average ${loadAtStart}`,
  );
  const fakes = await startFakes();
  const stops = [() => fakes.stop()];
  const failed = { direct: 0, hunze: 0, portkey: 0 };
  let results;
  try {
    const hunze = await startHunze(fakes);
    stops.unshift(() => hunze.stop());
    const portkey = await startPortkey(fakes);
    stops.unshift(() => portkey.stop());
    const systems = [directSystem(fakes), hunzeSystem(hunze), portkeySystem(portkey)];
    for (const s of systems) await checkSystem(s, fakes.model, fakes.embeddingModel);
    const floor = await startFloor(fakes);
    stops.unshift(() => floor.stop());
    const nestFloor = await startNestFloor(fakes);
    stops.unshift(() => nestFloor.stop());
    log(`all three answer; Hunze features: ${hunze.features.join('; ')}`);

    results = await measure(options.plan, fakes, systems, failed, floor, nestFloor);
    results.features = hunze.features;
    const before = await fakes.call('stats');
    results.evidence = {
      usageRecords: await hunze.usageRecords(),
      logBytes: hunze.logBytes(),
      otlpExports: before.counts.traces + before.counts.metrics,
    };
    log(
      `Hunze wrote ${results.evidence.usageRecords} usage records, ${results.evidence.logBytes} log bytes, ` +
        `${results.evidence.otlpExports} OTLP exports`,
    );
    if (options.soak) {
      await portkey.stop();
      log('soak: 5 minutes of mixed load through Hunze');
      results.soak = await soak({
        fakes,
        system: systems[1],
        chatBody: chatBody(fakes.model),
        streamBody: chatBody(fakes.model, { stream: true }),
        minutes: 5,
        rate: 200,
        streams: 100,
      });
      failed.hunze += results.soak.failed;
    }
  } finally {
    for (const stop of stops.splice(0, stops.length - 1)) await stop().catch(() => undefined);
  }
  try {
    log('usage writer (scripts/bench-usage-writer.js)');
    results.usageWriter = await runUsageWriterBench(options.plan.usageWriterRecords);
    if (options.profile) {
      log('profile: Hunze under --cpu-prof');
      results.profile = await profileHunze(fakes, options.plan.profileSeconds);
    }
  } finally {
    await fakes.stop();
  }
  results.quick = options.quick;
  results.loadAtStart = loadAtStart;
  results.failedRequests = failed;
  const checks = evaluateTargets(results);
  printSummary(results, checks);
  if (options.docs) log(`wrote ${writeDocs(results, checks, machineInfo())}`);
  const missed = checks.filter((c) => !c.ok);
  for (const c of missed) process.stderr.write(`MISSED: ${c.name}: ${c.shown} (target ${c.limit})\n`);
  log(missed.length ? `${missed.length} target(s) missed` : 'every target met');
  process.exitCode = missed.length ? 1 : 0;
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
  process.exit(2);
});
