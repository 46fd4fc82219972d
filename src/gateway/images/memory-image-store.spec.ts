import type { Clock } from '../../core/clock';
import type { HunzeConfig } from '../../config/hunze-config';
import { MemoryImageStore } from './memory-image-store';

const config = { file: { retention: { imageMinutes: 2 } } } as HunzeConfig;

function fakeClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const png = (n: number, fill = 1) => ({ bytes: Buffer.alloc(n, fill), contentType: 'image/png' });

describe('MemoryImageStore', () => {
  const stores: MemoryImageStore[] = [];
  const make = (clock: Clock, maxBytes?: number) => {
    const store = new MemoryImageStore(config, clock, maxBytes);
    stores.push(store);
    return store;
  };
  afterEach(() => stores.splice(0).forEach((s) => s.onModuleDestroy()));

  it('hands an image back to its owner only, under an unguessable id', () => {
    const store = make(fakeClock());
    const id = store.keep('account-a', png(10, 7));
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(store.read(id, 'account-a')?.bytes).toEqual(Buffer.alloc(10, 7));
    expect(store.read(id, 'account-b')).toBeUndefined();
    expect(store.read('x'.repeat(43), 'account-a')).toBeUndefined();
    expect(store.keep('account-a', png(1))).not.toBe(id);
  });

  it('forgets an image once retention.imageMinutes have passed, on read and on sweep', () => {
    const clock = fakeClock();
    const store = make(clock);
    const read = store.keep('a', png(5));
    const swept = store.keep('a', png(5));
    clock.advance(2 * 60_000 - 1);
    expect(store.read(read, 'a')).toBeDefined();
    clock.advance(1);
    expect(store.read(read, 'a')).toBeUndefined();
    expect(store.size).toBe(1);
    store.sweep();
    expect(store.size).toBe(0);
    expect(store.bytes).toBe(0);
    expect(store.read(swept, 'a')).toBeUndefined();
  });

  it('sweeps on a timer without anyone reading', () => {
    jest.useFakeTimers();
    try {
      const clock = fakeClock();
      const store = make(clock);
      store.keep('a', png(5));
      clock.advance(2 * 60_000);
      jest.advanceTimersByTime(60_000);
      expect(store.size).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('evicts the oldest images first when the memory bound is reached', () => {
    const store = make(fakeClock(), 100);
    const first = store.keep('a', png(40));
    const second = store.keep('a', png(40));
    const third = store.keep('a', png(40));
    expect(store.read(first, 'a')).toBeUndefined();
    expect(store.read(second, 'a')).toBeDefined();
    expect(store.read(third, 'a')).toBeDefined();
    expect(store.bytes).toBe(80);
  });
});
