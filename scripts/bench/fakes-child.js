// Child process: the fake upstreams the bench measures against (fake vLLM, fake TEI, fake OTLP collector),
// compiled from test/fakes into dist-bench/ (`npm run bench:build`). Controlled by the parent over IPC.
// Runs in its own process so the upstream's CPU is never the load generator's or a gateway's.
'use strict';
const { join } = require('node:path');

const fakes = join(__dirname, '..', '..', 'dist-bench', 'fakes');
const { FakeVllm } = require(join(fakes, 'fake-vllm'));
const { FakeTei } = require(join(fakes, 'fake-tei'));
const { FakeOtlpCollector } = require(join(fakes, 'fake-otlp-collector'));

/** The fakes keep every request for tests to inspect; under load that is a leak, so keep counts only. */
function countInsteadOfKeeping(array, counter, key) {
  array.push = () => {
    counter[key]++;
    return 0;
  };
}

async function main() {
  const counts = { vllm: 0, tei: 0, traces: 0, metrics: 0 };
  const vllm = await FakeVllm.start({ host: '127.0.0.1' });
  const tei = await FakeTei.start({ host: '127.0.0.1', maxClientBatchSize: 4096 });
  const otlp = await FakeOtlpCollector.start();
  countInsteadOfKeeping(vllm.requests, counts, 'vllm');
  countInsteadOfKeeping(tei.requests, counts, 'tei');
  countInsteadOfKeeping(otlp.traceBodies, counts, 'traces');
  countInsteadOfKeeping(otlp.metricBodies, counts, 'metrics');
  const defaultText = vllm.completionText;

  const handlers = {
    /** Stream shape: `words` word pieces, `chunkDelayMs` apart. */
    stream({ chunkDelayMs = 0, words }) {
      vllm.chunkDelayMs = chunkDelayMs;
      vllm.completionText =
        words === undefined ? defaultText : Array.from({ length: words }, (_, i) => `w${i}`).join(' ');
      return {};
    },
    stats() {
      return { inFlight: vllm.inFlight, aborted: vllm.aborted.length, counts: { ...counts } };
    },
    /** Abort times recorded since the last call (wall clock, ms), then forgotten. */
    takeAborts() {
      const aborts = vllm.aborted.splice(0).map((a) => a.at);
      return { aborts };
    },
    /** Cuts every connection to the fake vLLM: ends streams a gateway left running after its client left. */
    dropStreams() {
      for (const socket of vllm.sockets) socket.destroy();
      return {};
    },
  };

  process.on('message', (msg) => {
    const handler = handlers[msg.cmd];
    const reply = handler ? handler(msg.args ?? {}) : { error: `unknown command ${msg.cmd}` };
    process.send({ id: msg.id, ...reply });
  });
  process.on('disconnect', () => process.exit(0));
  process.send({
    ready: true,
    vllm: vllm.baseUrl,
    tei: `http://127.0.0.1:${tei.port}/v1`,
    otlp: otlp.url,
    model: 'Qwen/Qwen3.6-35B-A3B-FP8',
    embeddingModel: tei.modelName,
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
