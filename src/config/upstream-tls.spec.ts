// Reading upstreams[].tls.ca while the configuration loads: paths relative to the config file, every
// certificate of a bundle kept, nothing but certificates passed on, and a bad file named as a problem.
import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateAuthority, type TestCertificate } from '../../test/helpers/certificates';
import { loadConfig, ConfigError } from './config.loader';
import { readUpstreamCas } from './upstream-tls';
import type { HunzeConfigFile } from './config.schema';

describe('readUpstreamCas', () => {
  let dir: string;
  let ca: TestCertificate;
  let other: TestCertificate;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hunze-upstream-tls-'));
    ca = certificateAuthority(dir, 'ca', 'Hunze Test CA');
    other = certificateAuthority(dir, 'other', 'Another Test CA');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const file = (upstreams: { id: string; baseUrl: string; tls?: { ca?: string; serverName?: string } }[]) =>
    ({ upstreams }) as unknown as HunzeConfigFile;

  it('reads a relative path from the given directory and keeps every certificate of a bundle', () => {
    writeFileSync(join(dir, 'bundle.pem'), `${ca.cert}${other.cert}${ca.key}`);
    const { cas, problems } = readUpstreamCas(
      file([{ id: 'gpu', baseUrl: 'https://gpu.internal/v1', tls: { ca: 'bundle.pem' } }]),
      dir,
    );
    expect(problems).toEqual([]);
    const pem = cas.get('gpu')!;
    expect(pem).toContain(ca.cert.trim());
    expect(pem).toContain(other.cert.trim());
    expect(pem).not.toContain('PRIVATE KEY'); // only certificates are trusted
  });

  it('leaves upstreams without a CA to the system store and refuses tls on http', () => {
    const { cas, problems } = readUpstreamCas(
      file([
        { id: 'public', baseUrl: 'https://gpu.example/v1', tls: { serverName: 'gpu.example' } },
        { id: 'bare', baseUrl: 'https://gpu.example/v1' },
        { id: 'plain', baseUrl: 'http://10.0.0.1/v1', tls: { ca: ca.certFile } },
      ]),
      dir,
    );
    expect([...cas.keys()]).toEqual(['plain']);
    expect(problems).toEqual(['upstreams[2].tls: set for an http base URL; use https or remove tls']);
  });

  it('makes a missing CA file a configuration error that names it, relative to the config file', () => {
    const config = join(dir, 'hunze.yaml');
    writeFileSync(
      config,
      `appliance: { name: T, operator: { name: T B.V., country: NL } }
residency: { allowedRegions: [EEA] }
upstreams:
  - id: gpu
    baseUrl: https://127.0.0.1:8443/v1
    location: { country: NL }
    operator: { name: T B.V., country: NL }
    networks: [127.0.0.0/8]
    tls: { ca: certs/upstream-ca.pem, serverName: gpu.internal }
models:
  - { id: m, kind: chat, upstreams: [gpu] }
`,
    );
    const load = () => loadConfig({ HUNZE_CONFIG: config });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(`upstreams[0].tls.ca: ${join(dir, 'certs/upstream-ca.pem')}: cannot read (ENOENT)`);
  });
});
