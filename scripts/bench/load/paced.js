// Open-loop latency at a fixed request rate: request i is due at start + i/rate, whatever happened to the
// earlier ones, and its latency is counted from when it was DUE, not from when it was sent. A stall in the
// system under test (or in this sender) therefore shows up in every request it delayed instead of being
// hidden by sending fewer requests ("coordinated omission").
'use strict';
const { performance } = require('node:perf_hooks');
const { poolFor, post } = require('./http');
const { summary } = require('../stats');

/** Timers are coarse (~1 ms): sleep until just before a request is due, then yield in short steps. */
function waitUntil(due, fn) {
  const wait = due - performance.now();
  if (wait > 1.5) setTimeout(fn, Math.floor(wait - 1));
  else setImmediate(fn);
}

function runPaced(pool, { url, headers, body, rate, seconds, timeLimitMs }) {
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const latencies = [];
  const lateness = [];
  let failed = 0;
  let finished = 0;
  let sent = 0;
  const start = performance.now() + 20;
  return new Promise((resolve) => {
    const deadline = setTimeout(() => finish(true), timeLimitMs);
    function finish(timedOut = false) {
      clearTimeout(deadline);
      resolve({ latencies, lateness, failed: failed + (timedOut ? total - finished : 0), timedOut });
    }
    function fire(due) {
      lateness.push(performance.now() - due);
      post(pool, url, headers, body)
        .then(({ status }) => {
          if (status === 200) latencies.push(performance.now() - due);
          else failed++;
        })
        .catch(() => failed++)
        .finally(() => {
          if (++finished === total) finish();
        });
    }
    function tick() {
      const now = performance.now();
      for (let due = start + sent * interval; sent < total && due <= now; due = start + sent * interval) {
        sent++;
        fire(due);
      }
      if (sent < total) waitUntil(start + sent * interval, tick);
    }
    waitUntil(start, tick);
  });
}

/** Latency percentiles (ms) at `rate` requests/s for `seconds`, after a 2 s warm-up at the same rate. */
async function pacedLatency({ url, headers, body, rate, seconds }) {
  const pool = poolFor(url, 64);
  try {
    const options = { url, headers, body, rate, timeLimitMs: (seconds + 30) * 1000 };
    await runPaced(pool, { ...options, seconds: 2 });
    const run = await runPaced(pool, { ...options, seconds });
    return { ...summary(run.latencies), failed: run.failed, senderLateP99: summary(run.lateness).p99 };
  } finally {
    await pool.close();
  }
}

module.exports = { pacedLatency };
