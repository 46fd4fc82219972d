// Closed-loop maximum throughput: N keep-alive connections, each sends its next request as soon as the
// previous answer arrived (autocannon, in the bench's own process, never a gateway's).
'use strict';
const autocannon = require('autocannon');

function run(options) {
  return new Promise((resolve, reject) => {
    autocannon(options, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

/**
 * Requests/s of 2xx answers over `seconds`, after a 1 s warm-up (JIT, pools); plus autocannon's latency
 * percentiles (ms) and the count of anything that was not a 2xx (must be 0 for a fair figure).
 */
async function maxThroughput({ url, headers, body, connections, seconds }) {
  const request = { url, method: 'POST', headers, body, connections, pipelining: 1, timeout: 30 };
  await run({ ...request, duration: 1 });
  const result = await run({ ...request, duration: seconds });
  const ok = result['2xx'];
  return {
    rps: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors + result.timeouts,
    requests: ok,
  };
}

module.exports = { maxThroughput };
