// Starts the bare relay of floor-relay.js (the throughput floor reported beside "direct") in its own process.
'use strict';
const { join } = require('node:path');
const { startChild } = require('./child');

async function startFloor(fakes) {
  const relay = await startChild('the floor relay', [join(__dirname, 'floor-relay.js'), fakes.vllm], {
    ready: /listening (http:\/\/\S+)/,
    timeoutMs: 10_000,
  });
  return {
    name: 'floor',
    pid: relay.child.pid,
    chatUrl: `${relay.match[1]}/v1/chat/completions`,
    chatHeaders: { 'content-type': 'application/json' },
    stop: () => relay.stop(),
  };
}

module.exports = { startFloor };
