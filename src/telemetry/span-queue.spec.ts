import { resourceFromAttributes } from '@opentelemetry/resources';
import type { RequestMetadata } from '../core/request-metadata';
import { AppLogger } from './logger';
import { OtlpSpanEncoder } from './otlp-span-encoder';
import { SpanQueue, type SpanQueueOptions } from './span-queue';

const encoder = new OtlpSpanEncoder(resourceFromAttributes({ 'service.name': 'hunze' }));
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function record(i: number): RequestMetadata {
  return {
    time: '2026-11-24T10:00:00.000Z',
    requestId: `req_${i}`,
    method: 'POST',
    endpoint: '/v1/chat/completions',
    status: 200,
    latencyMs: 12,
  };
}

/** A sender that keeps each document's request ids; `hold` keeps posts pending until released. */
function harness(options: Partial<SpanQueueOptions> = {}, spanEncoder: OtlpSpanEncoder = encoder) {
  const batches: string[][] = [];
  const logLines: Record<string, unknown>[] = [];
  const held: (() => void)[] = [];
  const state = { hold: false, fail: false, inFlight: 0, maxInFlight: 0 };
  const sender = {
    post: async (signal: 'traces' | 'metrics', body: Uint8Array): Promise<void> => {
      expect(signal).toBe('traces');
      const doc = JSON.parse(Buffer.from(body).toString('utf8')) as {
        resourceSpans: {
          scopeSpans: { spans: { attributes: { key: string; value: { stringValue?: string } }[] }[] }[];
        }[];
      };
      batches.push(
        doc.resourceSpans[0]!.scopeSpans[0]!.spans.map(
          (s) => s.attributes.find((a) => a.key === 'hunze.requestId')!.value.stringValue!,
        ),
      );
      state.inFlight += 1;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      try {
        if (state.hold) await new Promise<void>((resolve) => held.push(resolve));
        if (state.fail) throw new Error('collector down');
      } finally {
        state.inFlight -= 1;
      }
    },
  };
  const log = new AppLogger('info', {
    write: (line: string) => {
      logLines.push(JSON.parse(line) as Record<string, unknown>);
      return true;
    },
  });
  const queue = new SpanQueue(sender, spanEncoder, log, {
    intervalMs: 60_000,
    batchSize: 4,
    maxQueueSize: 10,
    ...options,
  });
  const release = () => held.splice(0).forEach((resolve) => resolve());
  return { queue, batches, logLines, state, release };
}

describe('SpanQueue', () => {
  it('exports a full batch on a later tick, never inside add', async () => {
    const { queue, batches } = harness();
    for (let i = 0; i < 5; i++) queue.add(record(i));
    expect(batches).toEqual([]);
    await tick();
    await tick();
    expect(batches).toEqual([['req_0', 'req_1', 'req_2', 'req_3']]);
    expect(queue.pending).toBe(1);
    await queue.shutdown();
  });

  it('encodes a large batch a slice per tick, into one document in order', async () => {
    // Counts event-loop turns; each slice records how many had passed when it was encoded.
    let turns = 0;
    let counting = true;
    const count = () => {
      turns++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    const turnsAtSlice: number[] = [];
    const slicing = new (class extends OtlpSpanEncoder {
      override spans(records: readonly RequestMetadata[]): string {
        turnsAtSlice.push(turns);
        return super.spans(records);
      }
    })(resourceFromAttributes({ 'service.name': 'hunze' }));
    const { queue, batches } = harness({ batchSize: 100, maxQueueSize: 200 }, slicing);
    for (let i = 0; i < 100; i++) queue.add(record(i));
    await queue.forceFlush();
    counting = false;
    expect(batches).toEqual([[...Array(100).keys()].map((i) => `req_${i}`)]);
    expect(turnsAtSlice).toHaveLength(4); // 32 + 32 + 32 + 4
    for (let i = 1; i < turnsAtSlice.length; i++)
      expect(turnsAtSlice[i]).toBeGreaterThan(turnsAtSlice[i - 1]!);
    await queue.shutdown();
  });

  it('exports a partial batch when the interval has passed', async () => {
    // Only setTimeout is faked: the interval passes when the test says, not when a loaded machine gets to it.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'queueMicrotask'] });
    try {
      const { queue, batches } = harness({ intervalMs: 20 });
      queue.add(record(0));
      queue.add(record(1));
      await tick();
      jest.advanceTimersByTime(19);
      await tick();
      expect(batches).toEqual([]);
      jest.advanceTimersByTime(1);
      await tick();
      expect(batches).toEqual([['req_0', 'req_1']]);
      await queue.shutdown();
    } finally {
      jest.useRealTimers();
    }
  });

  it('keeps one export in flight, queues at most maxQueueSize and logs how many it dropped', async () => {
    const { queue, batches, logLines, state, release } = harness();
    state.hold = true;
    for (let i = 0; i < 4; i++) queue.add(record(i));
    await tick();
    expect(batches).toHaveLength(1); // in flight, held
    for (let i = 4; i < 20; i++) queue.add(record(i));
    expect(queue.pending).toBe(10); // 6 dropped
    await tick();
    expect(batches).toHaveLength(1);
    state.hold = false;
    release();
    await queue.forceFlush();
    expect(batches.flat()).toEqual([...Array(14).keys()].map((i) => `req_${i}`));
    expect(batches.every((b) => b.length <= 4)).toBe(true);
    expect(state.maxInFlight).toBe(1);
    expect(logLines).toContainEqual(expect.objectContaining({ evt: 'otlp_spans_dropped', count: 6 }));
    await queue.shutdown();
  });

  it('forceFlush sends everything queued, in batches, and goes on after a failed export', async () => {
    const { queue, batches, state } = harness({ maxQueueSize: 100 });
    state.fail = true;
    for (let i = 0; i < 2; i++) queue.add(record(i));
    await queue.forceFlush();
    expect(batches).toEqual([['req_0', 'req_1']]);
    state.fail = false;
    for (let i = 2; i < 13; i++) queue.add(record(i));
    await queue.forceFlush();
    expect(queue.pending).toBe(0);
    expect(batches.flat()).toHaveLength(13);
    expect(batches.every((b) => b.length <= 4)).toBe(true);
  });

  it('forceFlush stops at the first failed batch and leaves the rest queued for the next export', async () => {
    const { queue, batches, state } = harness({ maxQueueSize: 100 });
    state.fail = true;
    for (let i = 0; i < 13; i++) queue.add(record(i));
    await queue.forceFlush();
    expect(batches).toEqual([['req_0', 'req_1', 'req_2', 'req_3']]);
    expect(queue.pending).toBe(9);
    state.fail = false;
    await queue.shutdown();
    expect(queue.pending).toBe(0);
    expect(batches.flat()).toHaveLength(13);
  });

  it('shutdown waits for the export in flight, sends the rest and takes nothing after', async () => {
    const { queue, batches, state, release } = harness({ maxQueueSize: 100 });
    state.hold = true;
    for (let i = 0; i < 6; i++) queue.add(record(i));
    await tick();
    const done = queue.shutdown();
    queue.add(record(99));
    state.hold = false;
    release();
    await done;
    expect(batches.flat()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `req_${i}`));
    queue.add(record(100));
    await tick();
    expect(batches.flat()).toHaveLength(6);
  });
});
