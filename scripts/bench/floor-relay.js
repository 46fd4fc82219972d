#!/usr/bin/env node
// The throughput floor for a Node.js gateway on this machine: one Fastify route that parses the chat body,
// relays it to the upstream with an undici Pool and sends the answer back; nothing else (no auth, limits,
// metering, log, tracing). Not a system under test: the reference for the target "CPU per request at most
// 1.5 times the bare relay's", measured in the same run.
// Usage (the bench starts it): node scripts/bench/floor-relay.js <upstream base URL, e.g. http://127.0.0.1:p/v1>
'use strict';
const Fastify = require('fastify');
const { Pool } = require('undici');

const upstream = new URL(process.argv[2]);
const pool = new Pool(upstream.origin, { connections: 128 });
const app = Fastify({ logger: false });

app.post('/v1/chat/completions', async (req, reply) => {
  const answer = await pool.request({
    method: 'POST',
    path: `${upstream.pathname}/chat/completions`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(req.body),
  });
  reply.code(answer.statusCode).header('content-type', answer.headers['content-type']);
  // A stream is passed through as it arrives (time to first token); a whole answer is read, then sent.
  return reply.send(req.body.stream ? answer.body : await answer.body.text());
});

app.listen({ port: 0, host: '127.0.0.1' }).then((url) => process.stdout.write(`listening ${url}\n`));
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
