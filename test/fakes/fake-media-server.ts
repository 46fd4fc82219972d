// A plain HTTP server that hands out media the way the web does, for the gateway's media fetches: an image,
// a redirect, a body larger than allowed (declared, or streamed without a length), the wrong content type.
// It counts connections and requests, so a test can show that a refused fetch never reached it, and it
// records how a streamed body ended (cut short by the client, or written to the end).
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Chunks of the endless stream and their bound: 64 KiB × 1024 = 64 MiB, far past any test's limit. */
const STREAM_CHUNK = 64 * 1024;
const STREAM_CHUNKS = 1024;

export class FakeMediaServer {
  /** The image served at /image.png: a PNG signature and random bytes, so the bytes are unique to a run. */
  image: Buffer = Buffer.concat([PNG_SIGNATURE, randomBytes(3000)]);
  /** Bytes /declared-too-large says it will send. */
  declaredLength = 0;
  connections = 0;
  readonly requests: string[] = [];
  /** How /stream ended: null while running or never asked. */
  streamEnded: 'cut' | 'complete' | null = null;
  streamWritten = 0;
  private readonly sockets = new Set<Socket>();

  private readonly server = http.createServer((req, res) => this.handle(req, res));
  url = '';

  static async start(host = '127.0.0.1'): Promise<FakeMediaServer> {
    const fake = new FakeMediaServer();
    fake.server.on('connection', (socket) => {
      fake.connections++;
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => fake.server.listen(0, host, resolve));
    fake.url = `http://${host}:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  reset(): void {
    this.connections = 0;
    this.requests.length = 0;
    this.streamEnded = null;
    this.streamWritten = 0;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]!;
    this.requests.push(path);
    // Routed by the last path segment, so a test may put anything (a canary) in the segments before it.
    switch (`/${path.split('/').pop()}`) {
      case '/image.png':
      case '/image.wav': {
        const type = path.endsWith('/image.png') ? 'image/png' : 'audio/wav';
        res.writeHead(200, { 'content-type': type, 'content-length': this.image.length });
        res.end(this.image);
        return;
      }
      case '/redirect':
        res.writeHead(302, { location: '/image.png' }).end();
        return;
      case '/not-found':
        res.writeHead(404, { 'content-type': 'text/plain' }).end('no');
        return;
      case '/page.html':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<html></html>');
        return;
      case '/declared-too-large':
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': this.declaredLength });
        res.write(this.image); // the rest never comes: the client must refuse on the header alone
        return;
      case '/stream':
        this.stream(res);
        return;
      default:
        res.writeHead(404).end();
    }
  }

  /** image/png without a length, written chunk by chunk (each after the last drained) until cut or done. */
  private stream(res: http.ServerResponse): void {
    res.writeHead(200, { 'content-type': 'image/png' }); // chunked: no Content-Length
    const chunk = Buffer.alloc(STREAM_CHUNK, 0x42);
    let sent = 0;
    res.on('close', () => {
      if (this.streamEnded === null) this.streamEnded = sent >= STREAM_CHUNKS ? 'complete' : 'cut';
    });
    const next = (): void => {
      if (res.destroyed) return;
      if (sent >= STREAM_CHUNKS) {
        this.streamEnded = 'complete';
        res.end();
        return;
      }
      sent++;
      this.streamWritten += chunk.length;
      if (res.write(chunk)) setImmediate(next);
      else res.once('drain', next);
    };
    next();
  }
}
