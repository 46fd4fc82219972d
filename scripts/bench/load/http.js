// The bench's HTTP client for everything autocannon does not do: one undici pool per origin, keep-alive,
// and a request that resolves with the status once the whole body has arrived.
'use strict';
const { Pool } = require('undici');

function poolFor(url, connections) {
  const { origin } = new URL(url);
  return new Pool(origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
}

/** POST and read the whole answer; resolves with the status code and the body size. */
async function post(pool, url, headers, body, signal) {
  const { pathname } = new URL(url);
  const res = await pool.request({ path: pathname, method: 'POST', headers, body, signal });
  let bytes = 0;
  for await (const chunk of res.body) bytes += chunk.length;
  return { status: res.statusCode, bytes };
}

module.exports = { poolFor, post };
