import { AsyncResource, executionAsyncId } from 'node:async_hooks';
import { installCheapAsyncBind } from './async-bind';

describe('installCheapAsyncBind', () => {
  beforeAll(() => installCheapAsyncBind());

  it('runs the function in the resource’s async scope, with its arguments, `this` and result', () => {
    const resource = new AsyncResource('test');
    const seen: unknown[] = [];
    const bound = resource.bind(function (this: unknown, a: number, b: number) {
      seen.push(executionAsyncId(), this, a, b);
      return a + b;
    });
    const self = { name: 'caller' };
    expect(bound.call(self, 2, 3)).toBe(5);
    expect(seen).toEqual([resource.asyncId(), self, 2, 3]);
    expect(bound.length).toBe(2);
  });

  it('binds `this` when given, and adds no deprecated asyncResource property', () => {
    const resource = new AsyncResource('test');
    const self = { n: 1 };
    // @types/node omits bind's thisArg (Node has it since 14.8).
    const bindWithThis = resource.bind.bind(resource) as <F>(fn: F, thisArg: unknown) => F;
    const bound = bindWithThis(function (this: { n: number }) {
      return this.n;
    }, self);
    expect(bound.call({ n: 2 })).toBe(1);
    expect(Object.keys(bound)).not.toContain('asyncResource');
  });

  it('rejects a non-function as Node does', () => {
    expect(() => new AsyncResource('test').bind(42 as never)).toThrow(
      '"fn" argument must be of type function',
    );
  });

  it('is what AsyncResource.bind (the static) uses too', () => {
    const fn = AsyncResource.bind((x: number) => x * 2);
    expect(fn(21)).toBe(42);
  });
});
