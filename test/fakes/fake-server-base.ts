// Shared plumbing for the backend fakes (TEI, WhisperX, FLUX): listening on an ephemeral port, socket
// tracking so close() never leaves a hung test behind, request/abort recording, and the failure modes every
// backend can show ('reset' = TCP reset, 'hang' = never answer). Subclasses only implement their routes.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createFakeHttpServer, TlsTraffic, type FakeTlsOptions } from './fake-tls';

export interface FakeServerOptions {
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Port to bind; default 0 (ephemeral). */
  port?: number;
  /** When set, requests to non-public routes must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Serve HTTPS with this certificate and key (baseUrl then starts with https:). */
  tls?: FakeTlsOptions;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed body (JSON object, multipart summary, or raw text when unparseable). */

  body: any;
  receivedAt: number;
}

export interface AbortedRequest {
  path: string;
  at: number;
}

/** Modes every fake supports; subclasses add their own error modes through `M`. */
export type BaseMode = 'ok' | 'reset' | 'hang';

export abstract class FakeServerBase<M extends string = never> {
  mode: BaseMode | M = 'ok';
  healthy = true;
  /** Delay before the status line is written (after the body was read). */
  firstByteDelayMs = 0;
  readonly requests: RecordedRequest[] = [];
  readonly aborted: AbortedRequest[] = [];
  /** Handshakes and bytes over TLS (with the `tls` option). */
  readonly tlsTraffic = new TlsTraffic();

  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private active = 0;
  private closing = false;
  private boundPort = 0;

  protected constructor(protected readonly options: FakeServerOptions) {
    this.server = createFakeHttpServer(
      (req, res) => void this.onRequest(req, res),
      options.tls,
      this.tlsTraffic,
    );
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  get port(): number {
    return this.boundPort;
  }

  get baseUrl(): string {
    return `${this.options.tls ? 'https' : 'http'}://${this.urlHost}:${this.boundPort}/v1`;
  }

  /** Requests whose response has not been closed yet (hanging, delayed or still streaming). */
  get inFlight(): number {
    return this.active;
  }

  /** Forget recorded traffic and return to a healthy 'ok' fake. */
  reset(): void {
    this.requests.length = 0;
    this.aborted.length = 0;
    this.tlsTraffic.clear();
    this.mode = 'ok';
    this.healthy = true;
    this.firstByteDelayMs = 0;
  }

  /** Destroys every open socket (hanging requests included) so Jest can exit cleanly. */
  async close(): Promise<void> {
    this.closing = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  protected async listen(): Promise<void> {
    const { host = '127.0.0.1', port = 0 } = this.options;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
  }

  /**
   * Turn the raw body into what `requests[].body` records: JSON when it parses (whatever the content-type,
   * so a missing header does not hide the payload), else the text; uploads only as their size.
   */
  protected describeBody(raw: Buffer, contentType: string | undefined): unknown {
    if (raw.length === 0) return null;
    if (/^multipart\//i.test(contentType ?? '')) return { bytes: raw.length };
    const text = raw.toString('utf8');
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  /** Routes answered without auth and regardless of `mode` (liveness probes). */
  protected isHealthPath(path: string): boolean {
    return path === '/health';
  }

  protected answerHealth(res: http.ServerResponse): void {
    if (this.healthy) this.sendJson(res, 200, { status: 'ok' });
    else this.sendJson(res, 503, { status: 'unhealthy' });
  }

  protected answerUnauthorized(res: http.ServerResponse): void {
    this.sendJson(res, 401, { detail: 'Invalid or missing API key' });
  }

  /** Backend-specific routing; called only for authorised requests in a mode other than reset/hang. */
  protected abstract route(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    raw: Buffer,
    path: string,
  ): void;

  protected sendJson(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: http.OutgoingHttpHeaders = {},
  ): void {
    this.send(res, status, JSON.stringify(body), { 'content-type': 'application/json', ...headers });
  }

  protected send(
    res: http.ServerResponse,
    status: number,
    body: string,
    headers: http.OutgoingHttpHeaders,
  ): void {
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(status, { 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  }

  private get urlHost(): string {
    const host = this.options.host ?? '127.0.0.1';
    if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
    return host.includes(':') ? `[${host}]` : host;
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const receivedAt = Date.now();
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    let serverKilled = false; // a 'reset' we caused is not a client abort
    this.active++;
    res.on('close', () => {
      this.active--;
      if (!res.writableFinished && !serverKilled && !this.closing) {
        this.aborted.push({ path, at: Date.now() });
      }
    });

    const raw = await this.collectBody(req);
    if (raw === null) return; // client went away mid-upload; 'close' above records it
    this.requests.push({
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      body: this.describeBody(raw, req.headers['content-type']),
      receivedAt,
    });

    if (req.method === 'GET' && this.isHealthPath(path)) return this.answerHealth(res);
    if (this.options.apiKey !== undefined && req.headers.authorization !== `Bearer ${this.options.apiKey}`) {
      return this.answerUnauthorized(res);
    }
    if (this.mode === 'reset') {
      serverKilled = true;
      req.socket.resetAndDestroy();
      return;
    }
    if (this.mode === 'hang') return; // answered only by the client giving up or close()

    if (this.firstByteDelayMs > 0) {
      await this.sleep(this.firstByteDelayMs);
      if (res.destroyed) return;
    }
    this.route(req, res, raw, path);
  }

  // Collect the whole body: fakes need the complete payload and bodies here are small.
  private async collectBody(req: http.IncomingMessage): Promise<Buffer | null> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      return null;
    }
    return req.complete ? Buffer.concat(chunks) : null;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}
