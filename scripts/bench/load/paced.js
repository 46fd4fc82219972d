// Open-loop latency at a fixed request rate: request i is due at start + i/rate and is sent then, whatever
// happened to the earlier ones (the sender never waits for an answer, and a busy connection pool queues the
// request with its clock already running). A stall in the system under test therefore shows up in every
// request it delayed instead of being hidden by sending fewer requests ("coordinated omission").
// Latency counts from the moment the request is handed to the pool. The sender sleeps on ordinary timers
// between requests (up to ~1 ms late, reported as its own lateness) rather than spinning for precision: a
// spinning sender took 30-40 % of a core from the system it measured on this 2-core machine.
'use strict';
const { performance } = require('node:perf_hooks');
const { poolFor, post } = require('./http');
const { summary } = require('../stats');

function waitUntil(due, fn) {
  setTimeout(fn, Math.max(0, Math.floor(due - performance.now())));
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
      const sentAt = performance.now();
      lateness.push(sentAt - due);
      post(pool, url, headers, body)
        .then(({ status }) => {
          if (status === 200) latencies.push(performance.now() - sentAt);
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
