// One tenant cannot stall the others (DESIGN.md, "Targets"). Bodies full of keys (tool schemas of 5,000
// properties each, under server.maxObjectKeys) for a model Hunze does not serve: it parses and validates the
// whole body, then answers 404, so no upstream work is measured. Two figures:
// - linearity: Hunze's answer time for such a body of S and of 4S bytes, one request at a time;
// - the stall: short chat requests (20/s, so no backlog outlives a stall) paced beside bodies near the size limit (server.bodyLimitMb), sent one
//   after another; how much later than usual the short ones are answered while a large one is handled,
//   beside what JSON.parse of that body costs in this process (the target: no more than parsing it would).
'use strict';
const { performance } = require('node:perf_hooks');
const { poolFor, post } = require('./http');
const { percentile } = require('../stats');

const UNKNOWN_MODEL = 'bench/not-served';
const KEYS_PER_SCHEMA = 5_000;
const PACED_RATE = 20;

/** A chat body of about `bytes` bytes: tools whose parameter schemas hold KEYS_PER_SCHEMA properties each. */
function keyHeavyBody(bytes) {
  const properties = {};
  for (let i = 0; i < KEYS_PER_SCHEMA; i++) properties[`p${i}`] = { type: 'string' };
  const tool = JSON.stringify({
    type: 'function',
    function: { name: 'f', parameters: { type: 'object', properties } },
  });
  const tools = Array.from({ length: Math.max(1, Math.round(bytes / tool.length)) }, () => tool).join(',');
  const head = JSON.stringify({ model: UNKNOWN_MODEL, messages: [{ role: 'user', content: 'hi' }] });
  return `${head.slice(0, -1)},"tools":[${tools}]}`;
}

/** The fastest of `count` JSON.parse calls of `text`, in ms. */
function parseMs(text, count = 3) {
  let best = Infinity;
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    JSON.parse(text);
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

/** Hunze's answer time (ms) for `body`, the median of `count` after one warm-up; each must be the 404. */
async function answerMs(pool, system, body, count) {
  const times = [];
  for (let i = 0; i <= count; i++) {
    const start = performance.now();
    const { status } = await post(pool, system.chatUrl, system.chatHeaders, body);
    if (status !== 404) throw new Error(`large body: expected 404 for an unknown model, got ${status}`);
    if (i > 0) times.push(performance.now() - start);
  }
  return percentile(times, 0.5);
}

/**
 * Short chat requests at PACED_RATE/s on their own pool while `rounds` large bodies go one after another on
 * another; returns the short requests' latencies split by whether a large body was in flight when they were
 * sent or answered.
 */
async function shortBeside(system, shortBody, largeBody, rounds, timeLimitMs) {
  const shortPool = poolFor(system.chatUrl, 16);
  const largePool = poolFor(system.chatUrl, 1);
  const quiet = [];
  const beside = [];
  let failed = 0;
  let largeInFlight = false;
  let done = false;
  const stopAt = Date.now() + timeLimitMs;
  const inFlight = new Set();
  const interval = 1000 / PACED_RATE;
  const sender = (async () => {
    let next = performance.now();
    while (!done && Date.now() < stopAt) {
      const sentDuringLarge = largeInFlight;
      const sentAt = performance.now();
      const request = post(shortPool, system.chatUrl, system.chatHeaders, shortBody)
        .then(({ status }) => {
          const ms = performance.now() - sentAt;
          if (status !== 200) failed++;
          else (sentDuringLarge || largeInFlight ? beside : quiet).push(ms);
        })
        .catch(() => failed++)
        .finally(() => inFlight.delete(request));
      inFlight.add(request);
      next += interval;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
    }
  })();
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // a second of quiet first
    for (let i = 0; i < rounds && Date.now() < stopAt; i++) {
      largeInFlight = true;
      const { status } = await post(largePool, system.chatUrl, system.chatHeaders, largeBody);
      largeInFlight = false;
      if (status !== 404) throw new Error(`large body: expected 404 for an unknown model, got ${status}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    done = true;
    await sender;
    await Promise.allSettled([...inFlight]);
    await shortPool.close();
    await largePool.close();
  }
  return { quiet, beside, failed };
}

async function largeBodies(system, shortBody, { linearBytes, limitBytes, rounds }) {
  const pool = poolFor(system.chatUrl, 1);
  let linear;
  try {
    const small = await answerMs(pool, system, keyHeavyBody(linearBytes), 5);
    const large = await answerMs(pool, system, keyHeavyBody(4 * linearBytes), 3);
    linear = { bytes: linearBytes, smallMs: small, largeMs: large, ratio: large / small };
  } finally {
    await pool.close();
  }
  const atLimit = keyHeavyBody(limitBytes);
  const parse = parseMs(atLimit);
  const { quiet, beside, failed } = await shortBeside(system, shortBody, atLimit, rounds, 120_000);
  const quietP50 = percentile(quiet, 0.5);
  const besideMax = beside.length ? Math.max(...beside) : NaN;
  return {
    linear,
    stall: {
      bytes: Buffer.byteLength(atLimit),
      parseMs: parse,
      quietP50,
      besideMax,
      addedMs: besideMax - quietP50,
      shortBeside: beside.length,
    },
    failed,
  };
}

module.exports = { largeBodies, keyHeavyBody };
