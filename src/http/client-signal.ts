// The signal a request's upstream work listens to, to stop when the client goes away (made by
// http-setup.ts, which knows the response).
import { EventEmitter } from 'node:events';

/**
 * Emits 'abort' once, with `aborted` and `reason` as an AbortSignal has them after `abort()`. An
 * EventEmitter, not an AbortController: undici's `request` takes either as its `signal`, and an AbortSignal
 * costs several times as much on every request (an EventTarget, whose 'abort' listener undici adds and
 * removes for each upstream request).
 */
export class ClientSignal extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = new DOMException('This operation was aborted', 'AbortError');
    this.emit('abort');
  }
}
