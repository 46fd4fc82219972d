// Node 20's AsyncResource.prototype.bind gives every bound function a deprecated `asyncResource` getter and
// setter (DEP0172), each wrapped by util.deprecate: ~10 µs per call, and Fastify binds once per request body
// (content-type-parser.js). This is the same bind without that property, which no library here reads.
// Node versions whose bind is already cheap (no `deprecate` in it) are left alone.
import { AsyncResource } from 'node:async_hooks';

type Bind = (this: AsyncResource, fn: (...args: never[]) => unknown, thisArg?: unknown) => unknown;

export function installCheapAsyncBind(): void {
  const proto = AsyncResource.prototype as unknown as { bind: Bind };
  const original = proto.bind;
  if (!original.toString().includes('deprecate')) return;
  proto.bind = function bind(fn, thisArg) {
    if (typeof fn !== 'function') return original.call(this, fn); // Node's own TypeError
    const run = (self: unknown, args: unknown[]) =>
      this.runInAsyncScope(fn as (...a: unknown[]) => unknown, self, ...args);
    const bound =
      thisArg === undefined
        ? function (this: unknown, ...args: unknown[]) {
            return run(this, args);
          }
        : (...args: unknown[]) => run(thisArg, args);
    Object.defineProperty(bound, 'length', { configurable: true, value: fn.length });
    return bound;
  };
}
