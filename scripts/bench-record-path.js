#!/usr/bin/env node
// CPU and allocations of the end of a request in isolation, on compiled dist/ trees (build first): the record
// (RequestRecorder.recordAtEnd and the response's end, no sinks), the usage row and its spool line from a
// fresh record (toUsageRow + JSON + Buffer), and the whole journal (UsageJournal -> toUsageRow -> UsageSpool
// append, with its write to a segment file). Two trees (say a copy of a baseline build and the current one)
// are measured in alternating rounds in one process, so a noisy machine disturbs both alike.
// Usage: node scripts/bench-record-path.js [dist...] [--calls=200000] [--rounds=3]: wall and CPU (user+system,
// GC threads included) nanoseconds a call, each round; with a machine shared with other work, CPU is the figure.
// Bytes allocated a call: node --expose-gc --min-semi-space-size=256 --max-semi-space-size=256
// scripts/bench-record-path.js [dist...] --bytes (a run short enough to need no scavenge, checked).
'use strict';
const { EventEmitter } = require('node:events');
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const v8 = require('node:v8');

const args = process.argv.slice(2);
const option = (name, fallback) =>
  Number(args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const CALLS = option('calls', 200_000);
const ROUNDS = option('rounds', 3);
const ALLOC_CALLS = 10_000;
const dists = args.filter((a) => !a.startsWith('--'));
if (dists.length === 0) dists.push(join(__dirname, '..', 'dist'));

const BYTES = args.includes('--bytes');

class FakeResponse extends EventEmitter {
  statusCode = 200;
  destroyed = false;
  writableFinished = false;
  end() {
    this.writableFinished = true;
    return this;
  }
}

const principal = { keyId: 'k_0123456789abcdef', accountName: 'team-research' };
function ending(i) {
  const facts = {
    startedAt: process.hrtime.bigint(),
    model: 'llama-3.1-70b-instruct',
    upstream: 'vllm-a',
    stream: (i & 1) === 0,
    promptTokens: 120 + (i & 63),
    completionTokens: 300,
    totalTokens: 420 + (i & 63),
    ttftMs: 38.123456,
  };
  if ((i & 7) === 0) facts.errorCode = 'upstream_timeout';
  return { id: `req-${i}`, method: 'POST', route: '/v1/chat/completions', facts, principal };
}

function load(dist) {
  const at = (path) => require(join(resolve(dist), path));
  const { RequestRecorder } = at('metering/request-recorder');
  const { UsageJournal } = at('metering/usage-journal');
  const { UsageSpool } = at('metering/usage-spool');
  const { toUsageRow } = at('metering/usage-row');
  const log = { error: () => undefined };
  const none = () => undefined;
  let last;
  const keep = new RequestRecorder({ name: 'keep', take: (r) => (last = r) }, [], log);
  const records = [];
  for (let i = 0; i < 1024; i++) {
    const res = new FakeResponse();
    keep.recordAtEnd(res, () => ending(i), none);
    res.end();
    records.push(last);
  }
  const dir = mkdtempSync(join(tmpdir(), 'hunze-bench-record-'));
  return {
    dist,
    dir,
    UsageSpool,
    async journal() {
      const spool = await UsageSpool.open(dir, (err) => {
        throw err;
      });
      const writer = {
        enqueue: (record) => {
          if (spool.append(toUsageRow(record)) >= 1000) spool.seal();
        },
      };
      return { spool, recorder: new RequestRecorder(new UsageJournal(writer), [], log) };
    },
    cases: {
      record: (n) => {
        for (let i = 0; i < n; i++) {
          const res = new FakeResponse();
          keep.recordAtEnd(res, () => ending(i), none);
          res.end();
        }
      },
      'row+line': (n) => {
        let bytes = 0;
        for (let i = 0; i < n; i++)
          bytes += Buffer.from(`${JSON.stringify(toUsageRow(records[i & 1023]))}\n`, 'utf8').length;
        return bytes;
      },
    },
  };
}

/** The whole journal, in chunks of a segment so sealed segments are synced, closed and removed in between. */
async function journal(tree, n) {
  const { spool, recorder } = await tree.journal();
  let wall = 0n;
  let cpu = 0;
  for (let done = 0; done < n; done += 1000) {
    const cpuStart = process.cpuUsage();
    const start = process.hrtime.bigint();
    for (let i = done; i < done + 1000; i++) {
      const res = new FakeResponse();
      recorder.recordAtEnd(
        res,
        () => ending(i),
        () => undefined,
      );
      res.end();
    }
    wall += process.hrtime.bigint() - start;
    const used = process.cpuUsage(cpuStart);
    cpu += used.user + used.system;
    await new Promise((r) => setTimeout(r, 1));
    while (spool.head) await spool.removeHead();
  }
  spool.close();
  return { wall: Number(wall) / n, cpu: (cpu * 1000) / n };
}

/** Nanoseconds a call: wall and CPU. */
async function time(tree, name, n) {
  if (name === 'journal') return journal(tree, n);
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  tree.cases[name](n);
  const wall = Number(process.hrtime.bigint() - start) / n;
  const used = process.cpuUsage(cpuStart);
  return { wall, cpu: ((used.user + used.system) * 1000) / n };
}

const newSpaceUsed = () =>
  v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_used_size;

/** Bytes a call, or NaN if a scavenge ran meanwhile (new space shrank). */
async function bytesPerCall(tree, name) {
  if (name === 'journal') return undefined; // the spool holds its rows: not a per-call garbage figure
  global.gc();
  const heap = process.memoryUsage().heapUsed;
  const young = newSpaceUsed();
  tree.cases[name](ALLOC_CALLS);
  const used = process.memoryUsage().heapUsed - heap;
  const young2 = newSpaceUsed() - young; // a scavenge empties it
  return young2 >= used * 0.5 ? Math.round(used / ALLOC_CALLS) : NaN;
}

async function main(trees) {
  const names = ['record', 'row+line', 'journal'];
  if (BYTES) {
    for (const tree of trees) for (const name of names) await time(tree, name, 20_000); // warm up
    for (let round = 0; round < ROUNDS; round++)
      for (const name of names.slice(0, 2))
        for (const tree of trees)
          console.log(`${name}\t${tree.dist}\t${await bytesPerCall(tree, name)} bytes/call`);
    return;
  }
  for (const tree of trees) for (const name of names) await time(tree, name, 20_000); // warm up
  const results = new Map();
  for (let round = 0; round < ROUNDS; round++)
    for (const name of names)
      for (const tree of trees) {
        const key = `${name}\t${tree.dist}`;
        const ns = await time(tree, name, CALLS);
        (results.get(key) ?? results.set(key, []).get(key)).push(ns);
      }
  console.log(`case\tdist\tns/call, each round of ${CALLS}: CPU (wall)`);
  for (const name of names)
    for (const tree of trees) {
      const ns = results
        .get(`${name}\t${tree.dist}`)
        .map((v) => `${v.cpu.toFixed(0)} (${v.wall.toFixed(0)})`);
      console.log(`${name}\t${tree.dist}\t${ns.join('  ')}`);
    }
}

const trees = dists.map(load);
main(trees)
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const tree of trees) rmSync(tree.dir, { recursive: true, force: true });
  });
