// The fakes' listening server: plain HTTP, or HTTPS when given a certificate and key (an upstream reached
// over TLS). Over TLS it also counts what arrives, so a test can prove that a refused handshake carried no
// byte of a request.
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';

/** The certificate (PEM, chain allowed) and key a fake presents. */
export interface FakeTlsOptions {
  cert: string;
  key: string;
}

/** TLS traffic seen by a fake: completed handshakes, failed ones, and request bytes after a handshake. */
export class TlsTraffic {
  handshakes = 0;
  failedHandshakes = 0;
  bytes = 0;

  clear(): void {
    this.handshakes = this.failedHandshakes = this.bytes = 0;
  }
}

export function createFakeHttpServer(
  handler: http.RequestListener,
  tls: FakeTlsOptions | undefined,
  traffic: TlsTraffic,
): http.Server {
  if (!tls) return http.createServer(handler);
  const server = https.createServer({ cert: tls.cert, key: tls.key }, handler);
  server.on('secureConnection', (socket: TLSSocket) => {
    traffic.handshakes += 1;
    socket.on('data', (chunk: Buffer) => (traffic.bytes += chunk.length));
  });
  server.on('tlsClientError', () => (traffic.failedHandshakes += 1));
  return server;
}
