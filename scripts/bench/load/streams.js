// Streaming measurements: time to first token, whether chunks are relayed as they arrive, memory with many
// open streams, and how fast a client's cancel reaches the upstream. The fake vLLM's stream shape (words,
// delay between chunks) is set over IPC before each; it reports in-flight requests and abort times.
'use strict';
const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');
const { poolFor } = require('./http');
const { summary } = require('../stats');
const { rssBytes } = require('../proc');

const CONTENT = /"content":"[^"]/;

/**
 * Sends one stream request; calls `onFirstData` once the first bytes of the body arrived, `onContent(ms)`
 * for each SSE event with text content (ms since send), and resolves with the status once the stream
 * ended or was aborted.
 */
async function stream(
  pool,
  system,
  body,
  { signal, onContent = () => undefined, onFirstContent, onFirstData } = {},
) {
  const { pathname } = new URL(system.chatUrl);
  const sent = performance.now();
  const res = await pool.request({
    path: pathname,
    method: 'POST',
    headers: system.chatHeaders,
    body,
    signal,
  });
  let pending = '';
  let first = true;
  let gotData = false;
  try {
    for await (const chunk of res.body) {
      if (!gotData) {
        gotData = true;
        onFirstData?.();
      }
      pending += chunk.toString('utf8');
      const events = pending.split('\n\n');
      pending = events.pop();
      for (const event of events) {
        if (!CONTENT.test(event)) continue;
        const at = performance.now() - sent;
        if (first && onFirstContent) onFirstContent(at);
        first = false;
        onContent(at);
      }
    }
  } catch (err) {
    if (!signal?.aborted) throw err;
  }
  return res.statusCode;
}

/** Time to the first content chunk (ms), `count` streams one after another, upstream sending at once. */
async function timeToFirstToken(fakes, system, body, count) {
  await fakes.call('stream', { chunkDelayMs: 0 });
  const pool = poolFor(system.chatUrl, 1);
  const ttft = [];
  try {
    for (let i = 0; i < count + 20; i++) {
      await stream(pool, system, body, { onFirstContent: (ms) => i >= 20 && ttft.push(ms) }); // 20 warm-up
    }
  } finally {
    await pool.close();
  }
  return summary(ttft);
}

/**
 * Chunks relayed as they arrive: the upstream sends `words` content chunks 40 ms apart; through a relay
 * that buffers they would arrive together. Returns the smallest spread seen over 3 streams (ms between the
 * first and last content chunk; the upstream's own spread is (words - 1) * 40 ms).
 */
async function relaySpread(fakes, system, body) {
  const words = 6;
  const gapMs = 40;
  await fakes.call('stream', { chunkDelayMs: gapMs, words });
  const pool = poolFor(system.chatUrl, 1);
  let smallest = Infinity;
  try {
    for (let i = 0; i < 3; i++) {
      const arrivals = [];
      await stream(pool, system, body, { onContent: (ms) => arrivals.push(ms) });
      if (arrivals.length !== words)
        throw new Error(`${system.name}: ${arrivals.length} of ${words} chunks arrived`);
      smallest = Math.min(smallest, arrivals[arrivals.length - 1] - arrivals[0]);
    }
  } finally {
    await pool.close();
  }
  return { spreadMs: smallest, upstreamSpreadMs: (words - 1) * gapMs };
}

async function waitFor(check, timeoutMs, stepMs = 50) {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await check()) return true;
    await sleep(stepMs);
  }
  return false;
}

/** Slow upstream streams for the open-streams and cancel phases: a chunk a second for a minute. */
const SLOW = { chunkDelayMs: 1000, words: 60 };
/** How long the upstream is watched for closes after a cancel; streams still open then are cut. */
const CLOSE_WAIT_MS = 3000;

/**
 * RSS of `pid` with `count` streams open through `system` (each has had its first chunk and the upstream
 * counts it in flight), then the time for all upstream requests to close after the clients cancel.
 */
async function openStreams(fakes, system, body, count, pid) {
  await fakes.call('stream', SLOW);
  const before = (await fakes.call('stats')).inFlight;
  const pool = poolFor(system.chatUrl, count);
  const controllers = Array.from({ length: count }, () => new AbortController());
  let firstChunks = 0;
  const done = controllers.map((c) =>
    stream(pool, system, body, { signal: c.signal, onFirstData: () => firstChunks++ }).catch(() => 0),
  );
  try {
    const opened = await waitFor(
      async () => firstChunks === count && (await fakes.call('stats')).inFlight >= before + count,
      60_000,
    );
    if (!opened) throw new Error(`${system.name}: only ${firstChunks} of ${count} streams opened in 60 s`);
    await sleep(2000); // let chunks flow through every stream
    let rss = 0;
    for (let i = 0; i < 5; i++, await sleep(200)) rss = Math.max(rss, rssBytes(pid));
    const cancelledAt = performance.now();
    controllers.forEach((c) => c.abort());
    const closed = await waitFor(
      async () => (await fakes.call('stats')).inFlight <= before,
      CLOSE_WAIT_MS,
      5,
    );
    const closeAllMs = closed ? performance.now() - cancelledAt : Infinity;
    if (!closed) await fakes.call('dropStreams'); // the gateway kept them open upstream
    await Promise.all(done);
    return { count, rssMb: rss / 2 ** 20, closeAllMs };
  } finally {
    controllers.forEach((c) => c.abort());
    await pool.destroy();
  }
}

/**
 * Cancellation delay: a client aborts a stream after its first chunk; the delay is until the upstream saw
 * its request close (the fake records the time; both clocks are this machine's wall clock, 1 ms steps).
 */
async function cancelDelay(fakes, system, body, count) {
  await fakes.call('stream', SLOW);
  const pool = poolFor(system.chatUrl, 1);
  const delays = [];
  let missed = 0;
  try {
    for (let i = 0; i < count; i++) {
      const controller = new AbortController();
      let gotFirst;
      const firstChunk = new Promise((resolve) => (gotFirst = resolve));
      const done = stream(pool, system, body, { signal: controller.signal, onFirstData: gotFirst }).catch(
        () => 0,
      );
      await firstChunk;
      await sleep(20);
      await fakes.call('takeAborts');
      const abortedAt = Date.now();
      controller.abort();
      let seen;
      await waitFor(
        async () => {
          seen = (await fakes.call('takeAborts')).aborts[0];
          return seen !== undefined;
        },
        CLOSE_WAIT_MS,
        1,
      );
      if (seen === undefined) await fakes.call('dropStreams');
      if (seen === undefined) missed++;
      else delays.push(Math.max(0, seen - abortedAt));
      await done;
      if (missed >= 3 && delays.length === 0) break; // this gateway does not cancel upstream: enough said
    }
  } finally {
    await pool.destroy();
  }
  return { ...summary(delays), missed };
}

module.exports = { timeToFirstToken, relaySpread, openStreams, cancelDelay };
