// The two ways a request body can hold a connection: a client that stops sending it, and a client still
// uploading when the answer is already out (a 401 from the headers alone, a 413). Node reads a body only as
// fast as someone consumes it, so neither costs memory; these bound the time and bytes spent on it.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Whether the request announces a body (Content-Length above 0, or chunked). */
export function hasBody(raw: IncomingMessage): boolean {
  const length = raw.headers['content-length'];
  return (length !== undefined && length !== '0') || raw.headers['transfer-encoding'] !== undefined;
}

/**
 * Calls `onStall` when no byte of the body has arrived for `timeoutMs`: the socket's idle timer, which every
 * read restarts. Disarmed once the body is in, so a slow upstream answer is never cut. If the answer goes
 * out first (and the rest of the body is discarded), Node arms the timer for keep-alive; it is re-armed
 * with `timeoutMs` until the body is in.
 */
export function watchBodyRead(
  raw: IncomingMessage,
  res: ServerResponse,
  timeoutMs: number,
  onStall: () => void,
): void {
  raw.setTimeout(timeoutMs, onStall);
  raw.once('end', () => {
    const socket = raw.socket;
    // Once the answer is out too, the connection is idle: back to the keep-alive timeout Node set for it,
    // which the client was told in Keep-Alive (a shorter one would close it under the client's next request).
    if (socket) socket.setTimeout(res.writableFinished ? keepAliveTimeoutOf(socket) : 0);
  });
  res.once('finish', () => {
    if (!raw.complete) raw.socket?.setTimeout(timeoutMs);
  });
}

function keepAliveTimeoutOf(socket: Socket): number {
  return (socket as Socket & { server?: Server }).server?.keepAliveTimeout ?? 0;
}

/**
 * The answer goes out before the body was read. Closing at once would reset the connection under a client
 * still uploading, and most clients (the openai SDK among them) then report a connection error instead of
 * the answer; so the rest is read and thrown away, up to `maxBytes`, after which the connection is cut.
 */
export function discardUnreadBody(raw: IncomingMessage, maxBytes: number): void {
  // Nothing to discard: no body announced (a GET), or it was read to its end.
  if (!hasBody(raw) || raw.readableEnded || raw.destroyed) return;
  // Whatever still reads the body (the key counter, a parser that gave up) would hold it back once its own
  // buffer is full, and the connection would stall before the next request on it.
  raw.unpipe();
  let discarded = 0;
  raw.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > maxBytes) raw.socket?.destroy();
  });
  raw.resume();
}
