// Starts the Portkey open-source gateway (npm @portkey-ai/gateway, its Node server build) as the peer to
// compare with. It is told the upstream per request: provider "openai" with a custom host, the documented
// way to put it in front of a self-hosted OpenAI-compatible server such as vLLM.
'use strict';
const { createServer } = require('node:net');
const { join } = require('node:path');
const { startChild } = require('./child');

const SERVER = join(
  __dirname,
  '..',
  '..',
  'node_modules',
  '@portkey-ai',
  'gateway',
  'build',
  'start-server.js',
);

/** A port the kernel just handed out (Portkey's start-server takes --port, not 0). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startPortkey(fakes) {
  const port = await freePort();
  // production: no log-viewer UI; --headless: no UI routes. Its own per-request log middleware stays on.
  const server = await startChild('Portkey', [SERVER, `--port=${port}`, '--headless'], {
    env: { ...process.env, NODE_ENV: 'production' },
    ready: /Ready for connections/,
    timeoutMs: 30_000,
  });
  const headersFor = (upstreamBaseUrl) => ({
    authorization: 'Bearer sk-bench-not-checked',
    'x-portkey-provider': 'openai',
    'x-portkey-custom-host': upstreamBaseUrl,
  });
  return {
    name: 'portkey',
    url: `http://127.0.0.1:${port}`,
    pid: server.child.pid,
    chatHeaders: headersFor(fakes.vllm),
    embeddingHeaders: headersFor(fakes.tei),
    output: server.output,
    stop: () => server.stop(),
  };
}

module.exports = { startPortkey };
