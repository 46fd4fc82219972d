import { mapInOrder } from './map-in-order';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mapInOrder', () => {
  it('keeps input order whatever order the calls finish in, with at most `limit` in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapInOrder([50, 10, 30, 0, 20, 5], 3, async (ms, i) => {
      peak = Math.max(peak, ++inFlight);
      await sleep(ms);
      inFlight--;
      return i * 10;
    });
    expect(out).toEqual([0, 10, 20, 30, 40, 50]);
    expect(peak).toBe(3);
  });

  it('starts nothing after a failure, waits for the calls in flight, then throws the first failure', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const failure = await mapInOrder([0, 1, 2, 3, 4, 5], 2, async (i) => {
      started.push(i);
      await sleep(i === 1 ? 30 : 5);
      if (i === 0) throw new Error('first');
      if (i === 1) throw new Error('second');
      finished.push(i);
      return i;
    }).catch((e: unknown) => e);
    expect((failure as Error).message).toBe('first');
    expect(started).toEqual([0, 1]);
    expect(finished).toEqual([]);
  });

  it('handles an empty list', async () => {
    expect(await mapInOrder([], 4, async () => 1)).toEqual([]);
  });
});
