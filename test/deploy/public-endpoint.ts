// The appliance as clients see it: HAProxy's TLS port, trusted through the test's self-signed certificate.
// The openai SDK, /admin/v1 calls and raw TLS handshakes all go through it.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch, request } from 'undici';
import { selfSignedCertificate as selfSigned } from '../helpers/certificates';

/** A self-signed certificate for localhost; returns the certificate (the CA to trust) and writes
 * `<dir>/tls.pem` (certificate and key, as HAProxy's `crt` wants it). */
export function selfSignedCertificate(dir: string): { ca: string; pem: string } {
  const self = selfSigned(dir, 'localhost', {
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ips: ['127.0.0.1'],
  });
  const pem = join(dir, 'tls.pem');
  writeFileSync(pem, self.cert + self.key, { mode: 0o600 });
  return { ca: self.cert, pem };
}

/**
 * Ports free on 127.0.0.1 now, for processes Ansible starts (HAProxy's config and the replicas need numbers
 * before they run, so listen(0) is no option). Taken below the kernel's ephemeral range: listen(0) and every
 * outgoing connection on this machine draw from that range, so a port found free there can be taken before
 * its process binds it; below it, only a listener that names the port can.
 */
export async function freePorts(count: number): Promise<number[]> {
  const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
    .trim()
    .split(/\s+/)
    .map(Number);
  const high = Math.min(ephemeralLow ?? 32_768, 32_768);
  const low = Math.min(20_000, high - 1_000);
  const ports: number[] = [];
  for (let tries = 0; ports.length < count; tries++) {
    if (tries >= 200) throw new Error(`found only ${ports.length} free ports in ${low}-${high - 1}`);
    const port = low + Math.floor(Math.random() * (high - low));
    if (!ports.includes(port) && (await isFree(port))) ports.push(port);
  }
  return ports;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export class PublicEndpoint {
  private readonly agent: Agent;

  constructor(
    readonly port: number,
    private readonly ca: string,
    private readonly adminKey: string,
  ) {
    this.agent = new Agent({ connect: { ca } });
  }

  get origin(): string {
    return `https://localhost:${this.port}`;
  }

  /** The openai SDK, as a client configures it: only the base URL (and the CA to trust) changed. */
  openai(apiKey: string, options: { maxRetries?: number; timeout?: number } = {}): OpenAI {
    const tlsFetch = ((url: string, init?: Record<string, unknown>) =>
      undiciFetch(url, { ...init, dispatcher: this.agent })) as unknown as typeof fetch;
    return new OpenAI({
      apiKey,
      baseURL: `${this.origin}/v1`,
      maxRetries: options.maxRetries ?? 0,
      timeout: options.timeout ?? 10_000,
      fetch: tlsFetch,
    });
  }

  /** A GET; the body is read and dropped. */
  async get(path: string, headers: Record<string, string> = {}) {
    const res = await request(`${this.origin}${path}`, { dispatcher: this.agent, headers });
    await res.body.dump();
    return { status: res.statusCode, headers: res.headers };
  }

  /** /admin/v1 with the break-glass admin key Ansible deployed. */
  async admin(method: 'POST' | 'DELETE', path: string, body?: unknown) {
    const res = await request(`${this.origin}/admin/v1${path}`, {
      method,
      dispatcher: this.agent,
      headers: {
        authorization: `Bearer ${this.adminKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  /** A TLS handshake with the given client settings: "ok <protocol> <cipher>" or "refused". */
  handshake(options: ConnectionOptions): Promise<string> {
    return new Promise((resolve) => {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: this.port,
        servername: 'localhost',
        ca: this.ca,
        ...options,
      });
      const done = (outcome: string) => {
        socket.destroy();
        resolve(outcome);
      };
      socket.setTimeout(30_000, () => done('timeout'));
      socket.once('secureConnect', () =>
        done(`ok ${socket.getProtocol()} ${socket.getCipher().standardName}`),
      );
      socket.once('error', () => done('refused'));
    });
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** One chat completion; its status and the x-request-id it came back with (0 when no HTTP answer came). */
export async function chat(openai: OpenAI): Promise<{ status: number; requestId: string | null }> {
  try {
    const { response } = await openai.chat.completions
      .create({ model: 'qwen', messages: [{ role: 'user', content: 'Hallo Groningen' }] })
      .withResponse();
    return { status: response.status, requestId: response.headers.get('x-request-id') };
  } catch (err) {
    if (err instanceof OpenAI.APIError && err.status !== undefined)
      return { status: err.status, requestId: err.requestID ?? null };
    return { status: 0, requestId: null };
  }
}
