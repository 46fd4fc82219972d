// Starts the Portkey open-source gateway (npm @portkey-ai/gateway, its Node server build) as the peer to
// compare with. It is told the upstream per request: provider "openai" with a custom host, the documented
// way to put it in front of a self-hosted OpenAI-compatible server such as vLLM.
'use strict';
const { spawn } = require('node:child_process');
const { createServer } = require('node:net');
const { join } = require('node:path');

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
  const child = spawn(process.execPath, [SERVER, `--port=${port}`, '--headless'], {
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk) => (output += chunk.toString('utf8'));
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Portkey did not start in 30 s:\n${output}`)), 30_000);
    const check = () => {
      if (!output.includes('Ready for connections')) return;
      clearTimeout(timer);
      resolve();
    };
    child.stdout.on('data', check);
    void exited.then(({ code }) => reject(new Error(`Portkey exited with ${code}:\n${output}`)));
  });
  const headersFor = (upstreamBaseUrl) => ({
    authorization: 'Bearer sk-bench-not-checked',
    'x-portkey-provider': 'openai',
    'x-portkey-custom-host': upstreamBaseUrl,
  });
  return {
    name: 'portkey',
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    chatHeaders: headersFor(fakes.vllm),
    embeddingHeaders: headersFor(fakes.tei),
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      const result = await exited;
      clearTimeout(killer);
      return result;
    },
  };
}

module.exports = { startPortkey };
