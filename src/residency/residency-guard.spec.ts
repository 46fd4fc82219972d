import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, createServer as createTlsServer } from 'node:tls';
import { Pool } from 'undici';
import { selfSignedCertificate } from '../../test/helpers/certificates';
import { ResidencyViolationError, residencyConnector, type Resolver } from './residency-connector';
import { checkAddresses, geoipCountry } from './residency-guard';

const noGeo = () => {
  throw new Error('geolocation must not be consulted for non-public addresses');
};

describe('checkAddresses', () => {
  it('accepts any country of a set, and bounds only non-public addresses by networks when asked', () => {
    const geo = (address: string) => (address === '203.0.113.5' ? 'DE' : 'US');
    const policy = {
      networks: ['10.0.0.0/8'],
      country: new Set(['NL', 'DE']),
      networksBound: 'non_public' as const,
    };
    expect(checkAddresses(policy, ['203.0.113.5'], geo)).toMatchObject({ allowed: true });
    expect(checkAddresses(policy, ['198.51.100.7'], geo)).toMatchObject({ reason: 'country_mismatch' });
    expect(checkAddresses(policy, ['10.1.2.3'], noGeo)).toMatchObject({ allowed: true });
    expect(checkAddresses(policy, ['192.168.1.1'], noGeo)).toMatchObject({ reason: 'outside_networks' });
    // Without networksBound, a public address must also lie inside the networks.
    expect(checkAddresses({ ...policy, networksBound: 'all' }, ['203.0.113.5'], geo)).toMatchObject({
      reason: 'outside_networks',
    });
  });

  it('allows an address inside the declared networks and pins it', () => {
    expect(checkAddresses({ networks: ['10.20.0.0/24'], country: 'NL' }, ['10.20.0.7'], noGeo)).toEqual({
      allowed: true,
      address: '10.20.0.7',
      family: 4,
    });
  });

  it('refuses an address outside the declared networks', () => {
    expect(checkAddresses({ networks: ['10.20.0.0/24'], country: 'NL' }, ['10.20.1.7'], noGeo)).toEqual({
      allowed: false,
      reason: 'outside_networks',
      address: '10.20.1.7',
      family: 4,
    });
    expect(checkAddresses({ networks: ['10.20.0.0/24'], country: 'NL' }, ['127.0.0.1'], noGeo)).toMatchObject(
      {
        allowed: false,
        reason: 'outside_networks',
      },
    );
  });

  it('checks IPv6, and IPv4-mapped IPv6 as IPv4', () => {
    const policy = { networks: ['fd00:20::/32', '10.0.0.0/8'], country: 'NL' };
    expect(checkAddresses(policy, ['fd00:20::5'], noGeo)).toEqual({
      allowed: true,
      address: 'fd00:20::5',
      family: 6,
    });
    expect(checkAddresses(policy, ['fd00:21::5'], noGeo)).toMatchObject({
      reason: 'outside_networks',
      family: 6,
    });
    expect(checkAddresses(policy, ['::ffff:10.1.2.3'], noGeo)).toEqual({
      allowed: true,
      address: '10.1.2.3',
      family: 4,
    });
    expect(checkAddresses({ networks: ['::1/128'], country: 'NL' }, ['::1'], noGeo)).toMatchObject({
      allowed: true,
    });
    // An IPv4 range never matches an IPv6 address and vice versa.
    expect(checkAddresses({ networks: ['0.0.0.0/0'], country: 'NL' }, ['fd00::1'], noGeo)).toMatchObject({
      allowed: false,
      reason: 'outside_networks',
    });
  });

  it('refuses all when one of several resolved addresses is outside', () => {
    const policy = { networks: ['10.20.0.0/24'], country: 'NL' };
    expect(checkAddresses(policy, ['10.20.0.1', '10.20.0.2', '192.168.1.1'], noGeo)).toEqual({
      allowed: false,
      reason: 'outside_networks',
      address: '192.168.1.1',
      family: 4,
    });
    expect(checkAddresses(policy, ['192.168.1.1', '10.20.0.1'], noGeo)).toMatchObject({ allowed: false });
  });

  it('requires a public address to geolocate to the declared country', () => {
    const geo = (ip: string) => ({ '85.214.132.117': 'DE', '8.8.8.8': 'US' })[ip] ?? null;
    const policy = { networks: ['85.214.132.0/24', '8.8.8.0/24', '203.0.113.0/24'], country: 'DE' };
    expect(checkAddresses(policy, ['85.214.132.117'], geo)).toMatchObject({ allowed: true });
    expect(checkAddresses(policy, ['8.8.8.8'], geo)).toMatchObject({
      allowed: false,
      reason: 'country_mismatch',
    });
    expect(checkAddresses(policy, ['85.214.132.117', '8.8.8.8'], geo)).toMatchObject({
      allowed: false,
      reason: 'country_mismatch',
      address: '8.8.8.8',
    });
    expect(checkAddresses(policy, ['203.0.113.9'], geo)).toMatchObject({
      allowed: false,
      reason: 'country_unknown',
    });
    // Outside the networks is refused before geolocation is asked.
    expect(checkAddresses(policy, ['1.1.1.1'], noGeo)).toMatchObject({ reason: 'outside_networks' });
  });

  it('uses the offline database shipped inside the geoip-country package', () => {
    expect(geoipCountry('85.214.132.117')).toBe('DE');
    expect(geoipCountry('8.8.8.8')).toBe('US');
    expect(geoipCountry('2a01:4f8::1')).toBe('DE');
    expect(geoipCountry('127.0.0.1')).toBeNull();
    expect(checkAddresses({ networks: ['8.8.8.0/24'], country: 'DE' }, ['8.8.8.8'])).toMatchObject({
      allowed: false,
      reason: 'country_mismatch',
    });
  });

  it('refuses no address, garbage and unroutable addresses', () => {
    const everything = { networks: ['0.0.0.0/0', '::/0'], country: 'NL' };
    expect(checkAddresses(everything, [], noGeo)).toEqual({ allowed: false, reason: 'no_address' });
    expect(checkAddresses(everything, ['not-an-ip'], noGeo)).toMatchObject({ reason: 'unroutable_address' });
    expect(checkAddresses(everything, ['0.0.0.0'], noGeo)).toMatchObject({ reason: 'unroutable_address' });
    expect(checkAddresses(everything, ['224.0.0.1'], noGeo)).toMatchObject({ reason: 'unroutable_address' });
  });
});

describe('residencyConnector', () => {
  let server: Server;
  let port: number;
  let connections: number;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    server = createServer((socket) => {
      connections += 1;
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.once('data', () =>
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok'),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  beforeEach(() => (connections = 0));
  afterAll(async () => {
    sockets.forEach((s) => s.destroy());
    await new Promise((resolve) => server.close(resolve));
  });

  /** A resolver injected in place of DNS: no real name is ever looked up. */
  function resolver(addresses: string[]): Resolver & { calls: string[] } {
    const calls: string[] = [];
    const fn = (host: string) => {
      calls.push(host);
      return Promise.resolve(
        addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
      );
    };
    return Object.assign(fn, { calls });
  }

  async function get(origin: string, networks: string[], resolve: Resolver, onViolation = jest.fn()) {
    const pool = new Pool(origin, {
      connect: residencyConnector(
        { id: 'up', networks, country: 'NL' },
        // The connect timeout is not under test: generous, so a loaded machine's TLS handshake fits in it.
        { timeout: 30_000, resolve, onViolation, geo: noGeo },
      ),
    });
    try {
      const res = await pool.request({ path: '/', method: 'GET' });
      return { status: res.statusCode, text: await res.body.text(), onViolation };
    } finally {
      await pool.destroy();
    }
  }

  it('resolves once and connects to exactly the checked address', async () => {
    const resolve = resolver(['127.0.0.1']);
    const result = await get(`http://upstream.internal:${port}`, ['127.0.0.0/8'], resolve);
    expect(result).toMatchObject({ status: 200, text: 'ok' });
    expect(resolve.calls).toEqual(['upstream.internal']);
    expect(connections).toBe(1);
  });

  it('refuses before connecting when one resolved address is outside the networks', async () => {
    const resolve = resolver(['127.0.0.1', '10.9.9.9']);
    const onViolation = jest.fn();
    await expect(
      get(`http://upstream.internal:${port}`, ['127.0.0.0/8'], resolve, onViolation),
    ).rejects.toMatchObject({ code: 'HUNZE_RESIDENCY', reason: 'outside_networks' });
    await expect(
      get(`http://upstream.internal:${port}`, ['127.0.0.0/8'], resolve, onViolation),
    ).rejects.toBeInstanceOf(ResidencyViolationError);
    expect(onViolation).toHaveBeenCalledWith({
      upstream: 'up',
      reason: 'outside_networks',
      family: 4,
      address: '10.9.9.9',
    });
    expect(connections).toBe(0);
  });

  it('checks an IP literal without a lookup', async () => {
    const resolve = resolver([]);
    await expect(get(`http://127.0.0.1:${port}`, ['10.20.0.0/24'], resolve)).rejects.toMatchObject({
      code: 'HUNZE_RESIDENCY',
    });
    expect(connections).toBe(0);
    await expect(get(`http://127.0.0.1:${port}`, ['127.0.0.1/32'], resolve)).resolves.toMatchObject({
      status: 200,
    });
    expect(resolve.calls).toEqual([]);
    expect(connections).toBe(1);
  });

  it('keeps the original host name for TLS (SNI and certificate check) while connecting to the checked address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hunze-residency-'));
    try {
      const self = selfSignedCertificate(dir, 'self', { commonName: 'other.example' });
      const context = createSecureContext({ key: self.key, cert: self.cert });
      const names: string[] = [];
      const tlsServer = createTlsServer({
        SNICallback: (name, cb) => {
          names.push(name);
          cb(null, context);
        },
      });
      await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
      const tlsPort = (tlsServer.address() as { port: number }).port;
      try {
        const resolve = resolver(['127.0.0.1']);
        // Self-signed for another name: verification must still run, against the original host name.
        await expect(
          get(`https://upstream.internal:${tlsPort}`, ['127.0.0.0/8'], resolve),
        ).rejects.toMatchObject({
          code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
        });
        expect(names).toEqual(['upstream.internal']);
        expect(resolve.calls).toEqual(['upstream.internal']);
      } finally {
        await new Promise((r) => tlsServer.close(r));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
