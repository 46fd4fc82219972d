// Latency of one request at a time, for the size curves (prompt size, embedding batch size): a few
// warm-up requests, then `count` timed ones over one keep-alive connection, bounded by `timeLimitMs`.
'use strict';
const { performance } = require('node:perf_hooks');
const { poolFor, post } = require('./http');
const { summary } = require('../stats');

async function sequentialLatency({ url, headers, body, count, timeLimitMs = 20_000 }) {
  const pool = poolFor(url, 1);
  const latencies = [];
  let failed = 0;
  const stopAt = Date.now() + timeLimitMs;
  try {
    for (let i = 0; i < count + 3 && Date.now() < stopAt; i++) {
      const start = performance.now();
      const { status } = await post(pool, url, headers, body);
      if (status !== 200) failed++;
      else if (i >= 3) latencies.push(performance.now() - start);
    }
  } finally {
    await pool.close();
  }
  return { ...summary(latencies), failed };
}

module.exports = { sequentialLatency };
