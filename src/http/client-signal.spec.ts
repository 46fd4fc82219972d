import { ClientSignal } from './client-signal';

describe('ClientSignal', () => {
  it('aborts once, with the reason an AbortController gives', () => {
    const signal = new ClientSignal();
    const heard: unknown[] = [];
    signal.on('abort', () => heard.push(signal.reason));
    expect(signal.aborted).toBe(false);
    signal.abort();
    signal.abort();
    expect(signal.aborted).toBe(true);
    expect(heard).toHaveLength(1);
    const controller = new AbortController();
    controller.abort();
    expect(signal.reason).toBeInstanceOf(DOMException);
    expect(signal.reason).toMatchObject({
      name: (controller.signal.reason as DOMException).name,
      message: (controller.signal.reason as DOMException).message,
    });
  });
});
