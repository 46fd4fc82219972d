// Raw HTTP for requests the openai SDK cannot express (malformed bodies, odd content types, bad URLs), and
// the assertions every error answer must pass: OpenAI's exact error shape, a request id, and no echo.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | Uint8Array;
  timeoutMs?: number;
}

/**
 * One request to a local test server, bounded in time; the whole body is read. The default bound only stops
 * a hung test: a loaded machine can take seconds for an answer that normally takes milliseconds.
 */
export async function send(url: string, req: RawRequest = {}): Promise<RawResponse> {
  const res = await fetch(url, {
    method: req.method ?? 'POST',
    headers: req.headers,
    body: req.body,
    signal: AbortSignal.timeout(req.timeoutMs ?? 60_000),
  });
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => (headers[name] = value));
  return { status: res.status, headers, text: await res.text() };
}

/** A string that cannot occur in a response or log unless something echoed it. */
export function canary(label: string): string {
  return `canary-${label}-${randomBytes(6).toString('hex')}`;
}

/** Hunze's generated ids; an accepted inbound id is echoed as sent instead. */
export const GENERATED_REQUEST_ID = /^req_[0-9a-f]{32}$/;

export interface OpenAiError {
  message: string;
  type: string;
  param: string | null;
  code: string;
}

/** The body is exactly `{"error":{"message","type","param","code"}}` with the types OpenAI's SDKs expect. */
export function openAiErrorOf(res: RawResponse): OpenAiError {
  const body = JSON.parse(res.text) as { error?: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(['error']);
  const error = body.error!;
  expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof error.message).toBe('string');
  expect(typeof error.type).toBe('string');
  expect(typeof error.code).toBe('string');
  expect(error.param === null || typeof error.param === 'string').toBe(true);
  return error as unknown as OpenAiError;
}

/** True when the body parses as an OpenAI error object (for property tests, which must not throw). */
export function isOpenAiError(text: string): boolean {
  try {
    const body = JSON.parse(text) as { error?: Record<string, unknown> };
    const e = body.error;
    return (
      Object.keys(body).length === 1 &&
      typeof e === 'object' &&
      e !== null &&
      Object.keys(e).sort().join() === 'code,message,param,type' &&
      typeof e.message === 'string' &&
      typeof e.type === 'string' &&
      typeof e.code === 'string' &&
      (e.param === null || typeof e.param === 'string')
    );
  } catch {
    return false;
  }
}

/** The canary appears nowhere in the body or in any header name or value. */
export function expectNoEcho(res: RawResponse, secret: string): void {
  expect(res.text).not.toContain(secret);
  for (const [name, value] of Object.entries(res.headers)) {
    expect(name).not.toContain(secret);
    expect(value).not.toContain(secret);
  }
}

/**
 * The control for an abort timing: a server that holds every request open and notes when its client goes
 * away. A request to it, cancelled at the same instant as the one under test, measures how long this machine
 * needs right now to notice a client leaving, so a bound like "the upstream sees the abort within 100 ms" can
 * be checked as "within 100 ms on top of the control" and not fail because the CPU is shared.
 */
export interface HangingServer {
  url: string;
  /** Requests that have arrived (their headers). */
  readonly arrived: number;
  /** Date.now() at which each request's client went away, in order. */
  readonly closedAt: number[];
  close(): Promise<void>;
}

export async function startHangingServer(): Promise<HangingServer> {
  const closedAt: number[] = [];
  let arrived = 0;
  const server = http.createServer((req, res) => {
    arrived++;
    req.resume(); // take whatever body comes, answer never
    res.on('close', () => closedAt.push(Date.now()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    get arrived() {
      return arrived;
    },
    closedAt,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Polls a synchronous condition until it holds; the deadline only stops a hung test. */
export async function until(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface SocketExchange {
  /** Everything the server wrote before it closed the connection (or the wait ended). */
  response: RawResponse | undefined;
  /** Whether the server closed the connection (rather than the wait ending). */
  closed: boolean;
  /** Date.now() when the first answer byte arrived, and when the connection closed. */
  answeredAt?: number;
  closedAt?: number;
}

/**
 * Writes `bytes` on a fresh TCP connection and collects what comes back until the server closes the
 * connection or `waitMs` passes. For requests no HTTP client would send (malformed framing, stalled bodies).
 */
export async function exchange(
  url: string,
  bytes: string | Buffer,
  { waitMs = 60_000, untilAnswered = false }: { waitMs?: number; untilAnswered?: boolean } = {},
): Promise<SocketExchange> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  const chunks: Buffer[] = [];
  const result: SocketExchange = { response: undefined, closed: false };
  let answered = () => undefined as void;
  socket.on('data', (chunk: Buffer) => {
    result.answeredAt ??= Date.now();
    chunks.push(chunk);
    if (untilAnswered && parseRawResponse(Buffer.concat(chunks).toString('latin1'))) answered();
  });
  socket.on('error', () => undefined);
  socket.write(bytes);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, waitMs);
    answered = () => {
      clearTimeout(timer);
      resolve();
    };
    socket.once('close', () => {
      result.closed = true;
      result.closedAt = Date.now();
      clearTimeout(timer);
      resolve();
    });
  });
  socket.destroy();
  result.response = parseRawResponse(Buffer.concat(chunks).toString('latin1'));
  return result;
}

/** The first HTTP/1.1 response in `text` (Content-Length framed), or undefined when none is complete. */
export function parseRawResponse(text: string): RawResponse | undefined {
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const [statusLine, ...headerLines] = text.slice(0, headEnd).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  if (text.length < headEnd + 4 + length) return undefined;
  const body = text.slice(headEnd + 4, headEnd + 4 + length);
  return { status: Number(statusLine!.split(' ')[1]), headers, text: body };
}
