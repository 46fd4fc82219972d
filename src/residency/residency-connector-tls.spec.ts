// TLS through the residency connector against a real TLS server and certificates made for the test: the
// certificate is verified against the given CA only, the name checked (and sent as SNI) is the configured
// server name or the URL's host, never the pinned address, and a refused handshake carries no request byte.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, createServer, type Server, type TLSSocket } from 'node:tls';
import { Pool } from 'undici';
import {
  certificateAuthority,
  issueCertificate,
  type TestCertificate,
} from '../../test/helpers/certificates';
import { residencyConnector, type DestinationTls, type Resolver } from './residency-connector';

const noGeo = () => {
  throw new Error('geolocation must not be consulted for loopback addresses');
};
/** Every name resolves to 127.0.0.1; no real name is ever looked up. */
const loopback: Resolver = () => Promise.resolve([{ address: '127.0.0.1', family: 4 }]);

interface TlsUpstream {
  server: Server;
  port: number;
  /** SNI of each handshake ('' when none was sent). */
  names: string[];
  handshakes: number;
  bytes: number;
}

describe('residencyConnector over TLS', () => {
  let dir: string;
  let ca: TestCertificate;
  let otherCa: TestCertificate;
  let byName: TlsUpstream; // certificate for upstream.test only
  let byIp: TlsUpstream; // certificate for 127.0.0.1 only

  async function tlsUpstream(cert: TestCertificate): Promise<TlsUpstream> {
    const context = createSecureContext({ cert: cert.cert, key: cert.key });
    const state = { names: [] as string[], handshakes: 0, bytes: 0 };
    const server = createServer({
      cert: cert.cert,
      key: cert.key,
      SNICallback: (name, cb) => {
        state.names.push(name);
        cb(null, context);
      },
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      state.handshakes += 1;
      if (!socket.servername) state.names.push('');
      socket.once('data', (chunk: Buffer) => {
        state.bytes += chunk.length;
        socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');
      });
      socket.on('error', () => undefined);
    });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return Object.assign(state, { server, port: (server.address() as { port: number }).port });
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hunze-connector-tls-'));
    ca = certificateAuthority(dir, 'ca', 'Hunze Test CA');
    otherCa = certificateAuthority(dir, 'other-ca', 'Another Test CA');
    byName = await tlsUpstream(
      issueCertificate(dir, 'by-name', ca, { commonName: 'upstream.test', dnsNames: ['upstream.test'] }),
    );
    byIp = await tlsUpstream(issueCertificate(dir, 'by-ip', ca, { commonName: 'gpu', ips: ['127.0.0.1'] }));
  });
  beforeEach(() => {
    for (const upstream of [byName, byIp]) {
      upstream.names.length = 0;
      upstream.handshakes = upstream.bytes = 0;
    }
  });
  afterAll(async () => {
    await Promise.all([byName, byIp].map((u) => new Promise((r) => u?.server.close(r))));
    rmSync(dir, { recursive: true, force: true });
  });

  async function get(origin: string, tls: DestinationTls) {
    const pool = new Pool(origin, {
      connect: residencyConnector(
        { id: 'up', networks: ['127.0.0.0/8'], country: 'NL' },
        { timeout: 30_000, resolve: loopback, geo: noGeo, tls },
      ),
    });
    try {
      const res = await pool.request({ path: '/', method: 'GET' });
      return { status: res.statusCode, text: await res.body.text() };
    } finally {
      await pool.destroy();
    }
  }

  it('verifies the certificate against the given CA and the URL host, connecting to the pinned address', async () => {
    await expect(get(`https://upstream.test:${byName.port}`, { ca: ca.cert })).resolves.toEqual({
      status: 200,
      text: 'ok',
    });
    expect(byName.names).toEqual(['upstream.test']);
  });

  it('refuses a certificate the given CA did not sign, before any request byte', async () => {
    await expect(get(`https://upstream.test:${byName.port}`, { ca: otherCa.cert })).rejects.toMatchObject({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
    expect(byName.bytes).toBe(0);
  });

  it('trusts only the given CA, not the system store, and never skips verification without one', async () => {
    // Without `ca` the system store decides: it does not know the test CA either.
    await expect(get(`https://upstream.test:${byName.port}`, {})).rejects.toMatchObject({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
    expect(byName.bytes).toBe(0);
  });

  it('sends the configured server name as SNI and checks the certificate against it', async () => {
    await expect(
      get(`https://127.0.0.1:${byName.port}`, { ca: ca.cert, serverName: 'upstream.test' }),
    ).resolves.toMatchObject({ status: 200 });
    expect(byName.names).toEqual(['upstream.test']);
  });

  it('refuses a certificate that does not carry the configured server name', async () => {
    await expect(
      get(`https://upstream.test:${byName.port}`, { ca: ca.cert, serverName: 'other.test' }),
    ).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(byName.names).toEqual(['other.test']);
    expect(byName.bytes).toBe(0);
  });

  it('checks the name, not the pinned address: a certificate for the IP alone fails a URL by name', async () => {
    await expect(get(`https://upstream.test:${byIp.port}`, { ca: ca.cert })).rejects.toMatchObject({
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    expect(byIp.bytes).toBe(0);
  });

  it('checks an IP URL against the IP in the certificate and sends no SNI for it', async () => {
    await expect(get(`https://127.0.0.1:${byIp.port}`, { ca: ca.cert })).resolves.toMatchObject({
      status: 200,
    });
    expect(byIp.names).toEqual(['']);
    await expect(get(`https://127.0.0.1:${byName.port}`, { ca: ca.cert })).rejects.toMatchObject({
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
  });

  it('accepts a server name that is an IP address, checked against the certificate without SNI', async () => {
    await expect(
      get(`https://upstream.test:${byIp.port}`, { ca: ca.cert, serverName: '127.0.0.1' }),
    ).resolves.toMatchObject({ status: 200 });
    expect(byIp.names).toEqual(['']);
  });
});
