// In-process fake of vLLM's OpenAI-compatible server (node:http only), speaking its exact wire format,
// with switchable failure modes so gateway tests can drive every upstream behaviour deterministically.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createFakeHttpServer, TlsTraffic, type FakeTlsOptions } from './fake-tls';
import * as wire from './sse';

export type FakeVllmMode =
  | 'ok'
  | 'error-new'
  | 'error-old'
  | 'error-echo'
  | 'plain-text-500'
  | 'unauthorized'
  | 'reset'
  | 'reset-mid-stream'
  | 'error-mid-stream'
  | 'hang'
  | 'no-done';

export interface FakeVllmOptions {
  modelName?: string;
  apiKey?: string;
  host?: string;
  port?: number;
  /** Serve HTTPS with this certificate and key (baseUrl then starts with https:). */
  tls?: FakeTlsOptions;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: any;
  receivedAt: number;
}

const DEFAULT_MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const DEFAULT_TEXT = 'Hello from the fake vLLM server.';
const KNOWN_PATHS = ['/health', '/metrics', '/v1/models', '/v1/chat/completions', '/v1/completions'];

type Obj = Record<string, unknown>;
type Kind = 'chat' | 'completion';
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What the endpoints need from a prompt: a token count and the user text (for the echo modes). */
interface Prompt {
  words: number;
  echo: string;
  count: number; // prompts in the request (/v1/completions accepts a list)
}

/** Text of a chat content: a string or an array of parts, of which only `text` parts count. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((p) => (isObj(p) && p.type === 'text' && typeof p.text === 'string' ? p.text : ''))
    .filter(Boolean)
    .join(' ');
}

function readPrompt(kind: Kind, body: Obj): Prompt | string {
  if (kind === 'chat') {
    if (!Array.isArray(body.messages)) return 'Field required: messages';
    const messages = body.messages.filter(isObj);
    const words = messages.reduce((sum, m) => sum + wire.countWords(contentText(m.content)), 0);
    const lastUser = messages.filter((m) => m.role === 'user').pop();
    return { words: Math.max(1, words), echo: contentText(lastUser?.content), count: 1 };
  }
  const p = body.prompt;
  if (Array.isArray(p) && p.length > 0 && p.every((t) => typeof t === 'number'))
    return { words: p.length, echo: '', count: 1 }; // a single prompt given as token ids
  const list = typeof p === 'string' ? [p] : Array.isArray(p) && p.length > 0 ? p : [];
  if (list.length === 0 || !list.every((t) => typeof t === 'string')) return 'Field required: prompt';
  const words = list.reduce((sum: number, t: string) => sum + wire.countWords(t), 0);
  return { words: Math.max(1, words), echo: list.join('\n'), count: list.length };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export class FakeVllm {
  mode: FakeVllmMode = 'ok';
  errorStatus = 400;
  /** The next generation requests get these statuses with a vLLM error body, one each, before `mode` applies. */
  readonly failNext: number[] = [];
  firstByteDelayMs = 0;
  chunkDelayMs = 0;
  completionText = DEFAULT_TEXT;
  healthy = true;
  readonly requests: ReceivedRequest[] = [];
  readonly aborted: { path: string; at: number }[] = [];
  /** Handshakes and bytes over TLS (with the `tls` option). */
  readonly tlsTraffic = new TlsTraffic();

  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly modelName: string;
  private active = 0;
  private closing = false;
  private address: AddressInfo | undefined;

  private constructor(private readonly opts: FakeVllmOptions) {
    this.modelName = opts.modelName ?? DEFAULT_MODEL;
    this.server = createFakeHttpServer((req, res) => this.handle(req, res), opts.tls, this.tlsTraffic);
    this.server.on('connection', (socket) => {
      socket.setNoDelay(true); // every SSE write leaves at once, so chunk timing is observable
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  static async start(opts: FakeVllmOptions = {}): Promise<FakeVllm> {
    const fake = new FakeVllm(opts);
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
    });
    fake.address = fake.server.address() as AddressInfo;
    return fake;
  }

  get port(): number {
    return this.address?.port ?? 0;
  }

  get baseUrl(): string {
    const host = this.address?.family === 'IPv6' ? `[${this.address.address}]` : this.address?.address;
    return `${this.opts.tls ? 'https' : 'http'}://${host}:${this.port}/v1`;
  }

  /** Generation requests (POST) currently being answered, hanging ones included. */
  get inFlight(): number {
    return this.active;
  }

  reset(): void {
    this.mode = 'ok';
    this.errorStatus = 400;
    this.failNext.length = 0;
    this.firstByteDelayMs = 0;
    this.chunkDelayMs = 0;
    this.completionText = DEFAULT_TEXT;
    this.healthy = true;
    this.requests.length = 0;
    this.aborted.length = 0;
    this.tlsTraffic.clear();
  }

  async close(): Promise<void> {
    this.closing = true; // sockets we destroy here are not client aborts
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const isPost = req.method === 'POST';
    let selfDestroyed = false; // the reset modes close the socket on purpose: not an abort
    if (isPost) this.active++;
    res.on('close', () => {
      if (isPost) this.active--;
      if (!res.writableEnded && !selfDestroyed && !this.closing) this.aborted.push({ path, at: Date.now() });
    });
    const dropSocket = (): void => {
      selfDestroyed = true;
      res.socket?.destroy();
    };
    req.on('error', () => undefined); // a client abort must not crash the fake
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      this.route(req, res, path, raw, dropSocket).catch(() => dropSocket());
    });
  }

  private async route(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
    raw: string,
    dropSocket: () => void,
  ): Promise<void> {
    let body: unknown = raw === '' ? undefined : raw;
    let malformed = false;
    try {
      if (raw !== '') body = JSON.parse(raw);
    } catch {
      malformed = true;
    }
    const method = req.method ?? 'GET';
    this.requests.push({ method, path, headers: { ...req.headers }, body, receivedAt: Date.now() });

    // vLLM's --api-key middleware guards /v1 only; /health and /metrics stay open.
    const key = this.opts.apiKey;
    if (key !== undefined && path.startsWith('/v1') && req.headers.authorization !== `Bearer ${key}`)
      return sendJson(res, 401, { error: 'Unauthorized' });

    const route = `${method} ${path}`;
    if (route === 'GET /health') return void res.writeHead(this.healthy ? 200 : 503).end();
    if (route === 'GET /metrics') return this.sendMetrics(res);
    if (route === 'GET /v1/models') return sendJson(res, 200, wire.modelList(this.modelName));
    if (route === 'POST /v1/chat/completions') return this.generate(res, 'chat', body, malformed, dropSocket);
    if (route === 'POST /v1/completions')
      return this.generate(res, 'completion', body, malformed, dropSocket);
    if (KNOWN_PATHS.includes(path)) return sendJson(res, 405, { detail: 'Method Not Allowed' });
    sendJson(res, 404, { detail: 'Not Found' });
  }

  private async generate(
    res: http.ServerResponse,
    kind: Kind,
    body: unknown,
    malformed: boolean,
    dropSocket: () => void,
  ): Promise<void> {
    const queued = this.failNext.shift(); // taken on arrival, so concurrent requests never share one
    const mode = this.mode; // fixed per request, so a test switching modes never mixes behaviours
    const status = this.errorStatus;
    const text = this.completionText;
    await this.sleep(this.firstByteDelayMs);
    if (res.destroyed) return;
    if (queued !== undefined) return sendJson(res, queued, wire.vllmError('Queued failure', queued));
    if (mode === 'unauthorized') return sendJson(res, 401, { error: 'Unauthorized' });
    if (mode === 'hang') return; // keep the socket open until the client or close() ends it
    if (malformed || !isObj(body))
      return sendJson(res, 400, wire.vllmError('Invalid request: body is not a JSON object', 400));
    const stream = body.stream === true;
    if (mode === 'reset' || (mode === 'reset-mid-stream' && !stream)) return dropSocket();

    const prompt = readPrompt(kind, body);
    if (typeof prompt === 'string') return sendJson(res, 400, wire.vllmError(prompt, 400));
    const contextError = `This model's maximum context length is 32768 tokens. Please reduce the length of the input.`;
    if (mode === 'error-new' || (mode === 'error-mid-stream' && !stream))
      return sendJson(res, status, wire.vllmError(contextError, status));
    if (mode === 'error-old') return sendJson(res, status, wire.vllmErrorOld(contextError, status));
    if (mode === 'error-echo')
      return sendJson(res, status, wire.vllmError(`Invalid prompt: ${prompt.echo}`, status));
    if (mode === 'plain-text-500') {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      return void res.end(`Internal Server Error: ${prompt.echo}`);
    }
    if (body.model !== this.modelName)
      return sendJson(res, 404, wire.vllmError(`The model \`${String(body.model)}\` does not exist.`, 404));

    const n = typeof body.n === 'number' && Number.isInteger(body.n) && body.n > 0 ? body.n : 1;
    const pieces = wire.wordPieces(text);
    const choices = n * prompt.count;
    const fn = isObj(body.tool_choice) && isObj(body.tool_choice.function) ? body.tool_choice.function : {};
    // vLLM: include_usage defaults to true once stream_options is present; continuous stats need it on.
    const opts = isObj(body.stream_options) ? body.stream_options : undefined;
    const includeUsage = opts !== undefined && ('include_usage' in opts ? opts.include_usage === true : true);
    const spec: wire.GenSpec = {
      model: this.modelName,
      choices,
      text,
      pieces,
      promptTokens: prompt.words,
      completionTokens: pieces.length * choices,
      includeUsage,
      continuousUsage: includeUsage && opts?.continuous_usage_stats === true,
      toolName:
        kind === 'chat' && Array.isArray(body.tools) && typeof fn.name === 'string' ? fn.name : undefined,
    };
    if (!stream)
      return sendJson(res, 200, kind === 'chat' ? wire.chatResponse(spec) : wire.completionResponse(spec));

    const plan = kind === 'chat' ? wire.chatStream(spec) : wire.completionStream(spec);
    const head = plan.events.slice(0, plan.preamble + 2); // role chunk(s) + 2 content chunks
    if (mode === 'reset-mid-stream') {
      await this.writeEvents(res, head);
      return dropSocket();
    }
    if (mode === 'error-mid-stream') {
      const error = wire.sseEvent(wire.vllmError('The engine failed while generating.', status));
      await this.writeEvents(res, [...head, error, wire.SSE_DONE]);
    } else {
      await this.writeEvents(res, mode === 'no-done' ? plan.events.slice(0, -1) : plan.events);
    }
    if (!res.destroyed) res.end();
  }

  /** Headers first, then each event as its own write, `chunkDelayMs` apart; stops if the client left. */
  private async writeEvents(res: http.ServerResponse, events: string[]): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    res.flushHeaders();
    for (const [i, event] of events.entries()) {
      if (i > 0) await this.sleep(this.chunkDelayMs);
      if (res.destroyed) return;
      // Wait for the write to reach the socket, so reset-mid-stream destroys only after sending.
      await new Promise<void>((resolve) => res.write(event, () => resolve()));
    }
  }

  /** Prometheus text as vLLM's prometheus_client exposes it (labelled, float values). */
  private sendMetrics(res: http.ServerResponse): void {
    const labels = `{engine="0",model_name="${this.modelName}"}`;
    const gauge = (name: string, help: string, value: number): string =>
      `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name}${labels} ${value.toFixed(1)}\n`;
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(
      gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', this.active) +
        gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', 0),
    );
  }

  /** Timers are tracked and unref'd so close() can clear them and Jest never waits on one. */
  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      timer.unref();
      this.timers.add(timer);
    });
  }
}
