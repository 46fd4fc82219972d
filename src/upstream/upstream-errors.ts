// Maps upstream failures to catalogue errors. The upstream's own error text is never read: vLLM and TEI
// messages can quote the prompt. Only the status code and transport error codes decide.
import { ApiError } from '../core/errors';

/** The upstream answered with an error status. */
export function fromUpstreamStatus(status: number): ApiError {
  if (status === 400 || status === 413 || status === 422)
    return new ApiError('upstream_rejected', { upstreamStatus: status });
  if (status === 408 || status === 504) return new ApiError('upstream_timeout');
  if (status === 429 || status === 503)
    return new ApiError('upstream_overloaded', {}, null, { 'retry-after': '1' });
  return new ApiError('upstream_error', { upstreamStatus: status });
}

const UNAVAILABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const TIMEOUTS = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/**
 * Certificate verification failures (OpenSSL's verify results as Node names them, and Node's own name
 * check): the TLS handshake ended before a byte of the request was written.
 */
const CERTIFICATE_REFUSED =
  /CERT|^UNABLE_TO_|^(INVALID_CA|INVALID_PURPOSE|PATH_LENGTH_EXCEEDED|HOSTNAME_MISMATCH)$/;

/** A transport failure (no usable answer): refused, reset or timed out. */
export function fromTransportError(err: unknown): ApiError {
  const code = (err as { code?: unknown })?.code;
  if (code === 'HUNZE_RESIDENCY') return new ApiError('residency_violation'); // refused before connecting
  if (typeof code === 'string' && CERTIFICATE_REFUSED.test(code))
    return new ApiError('upstream_certificate_refused');
  if (typeof code === 'string' && UNAVAILABLE.has(code)) return new ApiError('upstream_unavailable');
  if (typeof code === 'string' && TIMEOUTS.has(code)) return new ApiError('upstream_timeout');
  return new ApiError('upstream_connection_failed');
}

/**
 * Connection failures worth a retry a moment later: refused, reset or broken connections and connect
 * timeouts. Not a slow first byte (a retry would wait as long again), nor residency or certificate refusals.
 */
const CONNECTION_FAILURES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

export function isConnectionFailure(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && CONNECTION_FAILURES.has(code);
}

/**
 * An upstream's `retry-after` in milliseconds from `now`: delay-seconds or an HTTP date (a date already past
 * is 0); undefined when absent or unreadable.
 */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  // Every HTTP date form starts with the day's name; V8's lenient Date.parse would read "-1" as 2001.
  if (!/^[A-Za-z]{3}/.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function isAbort(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown };
  return e?.name === 'AbortError' || e?.code === 'UND_ERR_ABORTED';
}
