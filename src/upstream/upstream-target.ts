// One upstream backend: its undici Pool (keep-alive, per-phase timeouts), a circuit breaker (cockatiel) that
// ejects it after consecutive failures, and its active health state from periodic probes of its health path.
import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  CircuitState,
  circuitBreaker,
  handleWhen,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import { Pool, type Dispatcher } from 'undici';
import {
  residencyConnector,
  type ResidencyHooks,
  type ResidencyViolation,
} from '../residency/residency-connector';
import type { UpstreamConfig } from '../config/config.schema';
import type { CancelSignal } from '../core/request-context';
import { isAbort, retryAfterMs } from './upstream-errors';

/** The upstream answered with a status that says "try elsewhere" (5xx, 408, 429). */
export class UpstreamStatusError extends Error {
  /** `retryAfterMs`: the answer's `retry-after` (429 and 503 only), for the retry policy. */
  constructor(
    readonly status: number,
    readonly retryAfterMs?: number,
  ) {
    super(`upstream status ${status}`);
  }
}

/** The outcome of the latest residency check of a new connection (GET /admin/v1/upstreams shows it). */
export interface ResidencyCheck {
  passed: boolean;
  at: Date;
  /** The checked address (passed), or the address that failed the check, when there was one. */
  address?: string;
  reason?: ResidencyViolation['reason'];
}

export interface UpstreamRequest {
  path: string;
  body: string | Buffer | NodeJS.ReadableStream;
  headers: Record<string, string>;
  signal: CancelSignal;
}

export class UpstreamTarget {
  inFlight = 0;
  /** Last active probe result; unknown counts as healthy until the first probe says otherwise. */
  probeHealthy = true;
  lastProbeAt: Date | null = null;
  readonly pool: Pool;
  /** Path prefix of baseUrl (usually /v1), joined with the endpoint path. */
  readonly basePath: string;
  private readonly authorization: string | undefined;
  private readonly breaker: CircuitBreakerPolicy;
  /** The last connect attempt was refused by the residency guard (cleared when a check passes). */
  residencyRefused: ResidencyViolation | null = null;
  /** The latest check, passed or refused; null until the first connection is opened. */
  residencyCheck: ResidencyCheck | null = null;

  /** `caPem`: the text of `tls.ca`, read when the configuration was loaded. */
  constructor(
    readonly config: UpstreamConfig,
    residency: ResidencyHooks = {},
    caPem?: string,
  ) {
    const base = new URL(config.baseUrl);
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.authorization = config.apiKey ? `Bearer ${config.apiKey}` : undefined;
    this.pool = new Pool(base.origin, {
      connections: config.maxConnections,
      // Every new connection passes the residency guard and connects to the very address it checked;
      // https verifies the certificate (against tls.ca when given), health probes included.
      connect: residencyConnector(
        { id: config.id, networks: config.networks, country: config.location.country },
        {
          ...residency,
          timeout: config.timeouts.connectMs,
          tls: { ca: caPem, serverName: config.tls?.serverName },
          onViolation: (violation) => {
            this.residencyRefused = violation;
            this.residencyCheck = {
              passed: false,
              at: new Date(),
              address: violation.address,
              reason: violation.reason,
            };
            residency.onViolation?.(violation);
          },
          onPass: (address) => {
            this.residencyRefused = null;
            this.residencyCheck = { passed: true, at: new Date(), address };
            residency.onPass?.(address);
          },
        },
      ),
      headersTimeout: config.timeouts.firstByteMs,
      bodyTimeout: config.timeouts.idleMs,
      keepAliveTimeout: 30_000,
    });
    // A client that hangs up is not the upstream's fault.
    this.breaker = circuitBreaker(
      handleWhen((err) => !isAbort(err)),
      {
        halfOpenAfter: config.circuitBreaker.openSeconds * 1000,
        breaker: new ConsecutiveBreaker(config.circuitBreaker.failures),
      },
    );
  }

  get id(): string {
    return this.config.id;
  }

  /** Takes requests: the breaker is not open and the last probe succeeded. */
  get available(): boolean {
    return this.probeHealthy && this.breaker.state !== CircuitState.Open;
  }

  get circuitState(): 'closed' | 'open' | 'half-open' | 'isolated' {
    return (['closed', 'open', 'half-open', 'isolated'] as const)[this.breaker.state];
  }

  /**
   * Sends one request through the breaker. Resolves with 2xx and client-error (4xx) answers; rejects with
   * UpstreamStatusError (body discarded unread), a transport error, or BrokenCircuitError when ejected.
   */
  async send(request: UpstreamRequest): Promise<Dispatcher.ResponseData> {
    return this.breaker.execute(async () => {
      const headers = this.authorization
        ? { ...request.headers, authorization: this.authorization }
        : request.headers;
      const response = await this.pool.request({
        path: this.basePath + request.path,
        method: 'POST',
        headers,
        body: request.body as Dispatcher.DispatchOptions['body'],
        signal: request.signal,
      });
      const status = response.statusCode;
      if (status >= 500 || status === 408 || status === 429) {
        await response.body.dump().catch(() => undefined); // never read: it may quote the prompt
        const wait =
          status === 429 || status === 503 ? retryAfterMs(response.headers['retry-after']) : undefined;
        throw new UpstreamStatusError(status, wait);
      }
      return response;
    });
  }

  /** A mid-stream failure (reset, idle timeout) counts against the breaker too. */
  recordStreamFailure(): void {
    void this.breaker.execute(() => Promise.reject(new Error('stream failed'))).catch(() => undefined);
  }

  async probe(): Promise<void> {
    const { path, timeoutMs } = this.config.healthCheck;
    try {
      const response = await this.pool.request({
        path,
        method: 'GET',
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body.dump();
      this.probeHealthy = response.statusCode >= 200 && response.statusCode < 300;
    } catch {
      this.probeHealthy = false;
    }
    this.lastProbeAt = new Date();
  }
}

export { BrokenCircuitError };
