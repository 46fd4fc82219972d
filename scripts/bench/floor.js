// Starts the bare relays, each in its own process: floor-relay.js (Fastify alone, the reference of the CPU
// target) and nest-floor-relay.js (the same relay as a NestJS app on Fastify, what the framework adds).
'use strict';
const { join } = require('node:path');
const { startChild } = require('./child');

async function startFloor(fakes, { script = 'floor-relay.js', name = 'floor' } = {}) {
  const relay = await startChild(`the ${name} relay`, [join(__dirname, script), fakes.vllm], {
    ready: /listening (http:\/\/\S+)/,
    timeoutMs: 20_000,
  });
  return {
    name,
    pid: relay.child.pid,
    chatUrl: `${relay.match[1].replace('localhost', '127.0.0.1')}/v1/chat/completions`,
    chatHeaders: { 'content-type': 'application/json' },
    stop: () => relay.stop(),
  };
}

/** The bare relay as a NestJS application: the framework's own cost per request. */
function startNestFloor(fakes) {
  return startFloor(fakes, { script: 'nest-floor-relay.js', name: 'nest floor' });
}

module.exports = { startFloor, startNestFloor };
