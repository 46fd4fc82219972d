// Memory soak: minutes of mixed load through one gateway (paced non-stream requests plus a constant number
// of slow streams, each replaced when it ends) while its RSS is sampled; a leak shows as steady growth.
'use strict';
const { setTimeout: sleep } = require('node:timers/promises');
const { pacedLatency } = require('./paced');
const { poolFor } = require('./http');
const { rssBytes } = require('../proc');

async function soak({ fakes, system, chatBody, streamBody, minutes, rate, streams, everySeconds = 10 }) {
  await fakes.call('stream', { chunkDelayMs: 200, words: 25 }); // each stream lives ~5 s
  const pool = poolFor(system.chatUrl, streams + 4);
  const { pathname } = new URL(system.chatUrl);
  const stopAt = Date.now() + minutes * 60_000;
  let streamFailures = 0;
  const keepStreaming = async () => {
    while (Date.now() < stopAt) {
      try {
        const res = await pool.request({
          path: pathname,
          method: 'POST',
          headers: system.chatHeaders,
          body: streamBody,
        });
        if (res.statusCode !== 200) streamFailures++;
        for await (const _ of res.body); // read to the end
      } catch {
        streamFailures++;
        await sleep(100);
      }
    }
  };
  const streaming = Array.from({ length: streams }, keepStreaming);
  const samples = [];
  const sampling = (async () => {
    for (let t = 0; Date.now() < stopAt; t += everySeconds) {
      samples.push({ t, rssMb: rssBytes(system.pid) / 2 ** 20 });
      await sleep(everySeconds * 1000);
    }
  })();
  const paced = await pacedLatency({
    url: system.chatUrl,
    headers: system.chatHeaders,
    body: chatBody,
    rate,
    seconds: Math.max(1, (stopAt - Date.now()) / 1000 - 2),
  });
  await Promise.all([...streaming, sampling]);
  await pool.close();
  const perMinute = 60 / everySeconds;
  const mean = (xs) => xs.reduce((a, b) => a + b.rssMb, 0) / Math.max(1, xs.length);
  const firstMinute = mean(samples.slice(perMinute, 2 * perMinute)); // after a minute of warm-up
  const lastMinute = mean(samples.slice(-perMinute));
  return {
    minutes,
    everySeconds,
    load: `${rate} req/s non-stream + ${streams} concurrent streams`,
    samples,
    growthMb: lastMinute - firstMinute,
    growthShare: (lastMinute - firstMinute) / firstMinute,
    failed: paced.failed + streamFailures,
  };
}

module.exports = { soak };
