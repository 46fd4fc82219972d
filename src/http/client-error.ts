// Errors Node's HTTP parser raises before Fastify sees a request (headers too large, a malformed request
// line or header, Content-Length together with Transfer-Encoding, a timed-out request): answered from the
// error catalogue with a fresh request id, on the raw socket, as Fastify's own handler would.
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { ApiError } from '../core/errors';
import { newRequestId } from './request-id';

/** Time a refused client gets to read its answer before the connection is cut. */
const LINGER_MS = 2_000;

export function clientErrorHandler(limits: { maxHeaderBytes: number; bodyReadTimeoutMs: number }) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    // A reset connection has nobody left to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      socket.end(rawResponse(errorFor(err.code, limits)));
      // The write side is closed; what the client still sends is read until it hangs up or this runs out.
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
      return;
    }
    socket.destroy();
  };
}

function errorFor(code: string | undefined, limits: { maxHeaderBytes: number; bodyReadTimeoutMs: number }) {
  switch (code ?? '') {
    case 'HPE_HEADER_OVERFLOW':
      return new ApiError('headers_too_large', { limitBytes: limits.maxHeaderBytes });
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ApiError('request_timeout', { timeoutMs: limits.bodyReadTimeoutMs });
    default:
      return new ApiError('malformed_request');
  }
}

function rawResponse(error: ApiError): string {
  const body = JSON.stringify(error.toBody());
  const headers = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'x-request-id': newRequestId(),
    'x-content-type-options': 'nosniff',
    ...error.responseHeaders(),
    connection: 'close',
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\n${lines.join('')}\r\n${body}`;
}
