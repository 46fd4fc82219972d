import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, parseConfig } from './config.loader';

const shipped = readFileSync('config/hunze.yaml', 'utf8');

function problemsOf(text: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(text, env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe('config loader', () => {
  it('accepts the shipped config/hunze.yaml with defaults filled in', () => {
    const config = loadConfig({});
    expect(config.file.server.port).toBe(8080);
    expect(config.file.upstreams[0]?.timeouts.connectMs).toBe(5000);
    expect(config.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(config.databaseUrl).toBeUndefined();
  });

  it('applies PORT, HOST, REDIS_URL and DATABASE_URL overrides', () => {
    const config = parseConfig(shipped, {
      PORT: '9999',
      HOST: '0.0.0.0',
      REDIS_URL: 'redis://x',
      DATABASE_URL: 'postgres://db',
    });
    expect(config.file.server).toMatchObject({ port: 9999, host: '0.0.0.0' });
    expect(config.redisUrl).toBe('redis://x');
    expect(config.databaseUrl).toBe('postgres://db');
  });

  it('resolves env: secret references, and the fingerprint ignores their values', () => {
    const a = parseConfig(shipped, { HUNZE_ADMIN_KEY: 'a-very-long-admin-key-1' });
    const b = parseConfig(shipped, { HUNZE_ADMIN_KEY: 'another-long-admin-key-2' });
    expect(a.file.auth.adminKey).toBe('a-very-long-admin-key-1');
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(parseConfig(shipped, {}).file.auth.adminKey).toBeUndefined();
  });

  it('changes the fingerprint when the configuration changes', () => {
    const changed = shipped.replace('bodyLimitMb: 25', 'bodyLimitMb: 26');
    expect(parseConfig(changed, {}).fingerprint).not.toBe(parseConfig(shipped, {}).fingerprint);
    expect(parseConfig(`# comment\n${shipped}`, {}).fingerprint).toBe(parseConfig(shipped, {}).fingerprint);
  });

  it('reports every problem with its key path', () => {
    const broken = shipped
      .replace('port: 8080', 'port: 99999')
      .replace('upstreams: [gro-tei-1]', 'upstreams: [nowhere]')
      .replace('kind: image', 'kind: video')
      .replace('retention: {', 'retention: { usageDayz: 3,');
    const problems = problemsOf(broken);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^server\.port: /),
        expect.stringMatching(/^models\[3\]\.kind: /),
        expect.stringMatching(/usageDayz should not exist/),
      ]),
    );
    expect(problemsOf(shipped.replace('upstreams: [gro-tei-1]', 'upstreams: [nowhere]'))).toEqual([
      'models[2].upstreams[0]: no upstream with id "nowhere"',
    ]);
  });

  it('takes media.allowedHosts as host names, IP addresses or CIDR ranges, and nothing else', () => {
    const withHosts = (hosts: string) => `${shipped}\nmedia: { remoteUrls: fetch, allowedHosts: ${hosts} }\n`;
    expect(problemsOf(withHosts('[media.internal, 10.0.0.0/8, 127.0.0.1, "::1", "fd00::/8"]'))).toEqual([]);
    expect(problemsOf(withHosts('["http://x/", "a b", "*.example"]'))).toEqual([
      expect.stringMatching(/^media\.allowedHosts: .*host name or a CIDR range/),
    ]);
  });

  it("takes an upstream's declared egress lockdown: defaultDeny and CIDR ranges, off when absent", () => {
    const first = shipped.indexOf('    networks:');
    const withEgress = (egress: string) =>
      `${shipped.slice(0, first)}    egress: ${egress}\n${shipped.slice(first)}`;
    const config = parseConfig(withEgress('{ defaultDeny: true, allowed: [10.20.0.0/24, "fd00::/8"] }'), {});
    expect(config.file.upstreams[0]?.egress).toEqual({
      defaultDeny: true,
      allowed: ['10.20.0.0/24', 'fd00::/8'],
    });
    expect(parseConfig(shipped, {}).file.upstreams[0]?.egress).toBeUndefined();
    expect(problemsOf(withEgress('{ defaultDeny: yes-please, allowed: [everywhere] }'))).toEqual([
      'upstreams[0].egress.defaultDeny: must be a boolean value',
      'upstreams[0].egress.allowed: each must be a CIDR range',
    ]);
  });

  it("takes a model's retries within bounds, none by default", () => {
    const qwen = '    upstreams: [gro-a40-1, gro-a40-2]\n';
    const withRetries = (retries: string) => shipped.replace(qwen, `${qwen}    retries: ${retries}\n`);
    expect(parseConfig(shipped, {}).file.models[0]?.retries).toEqual({ attempts: 0, backoffMs: 100 });
    expect(parseConfig(withRetries('{ attempts: 2 }'), {}).file.models[0]?.retries).toEqual({
      attempts: 2,
      backoffMs: 100,
    });
    expect(problemsOf(withRetries('{ attempts: 11, backoffMs: 60001 }'))).toEqual([
      expect.stringMatching(/^models\[0\]\.retries\.attempts: /),
      expect.stringMatching(/^models\[0\]\.retries\.backoffMs: /),
    ]);
    expect(problemsOf(withRetries('{ attempts: 1.5, backoffMs: -1, tries: 3 }'))).toHaveLength(3);
  });

  it('refuses an upstream outside the allowed regions and names it', () => {
    const us = shipped.replace(
      '{ country: NL, city: Groningen, site: Groningen DC1 }',
      '{ country: US, city: Ashburn }',
    );
    expect(problemsOf(us)).toEqual([
      expect.stringContaining('residency violation: upstream "gro-a40-1" is in US'),
    ]);
    expect(problemsOf(us.replace('allowedRegions: [EEA]', 'allowedRegions: [EEA, US]'))).toEqual([]);
    const ch = shipped.replace('{ country: NL, city: Groningen, site: Groningen DC1 }', '{ country: CH }');
    expect(problemsOf(ch)).toHaveLength(1);
  });

  it('rejects duplicate names, reserved names and missing secrets', () => {
    expect(problemsOf(shipped.replace('aliases: [gemma, gemma-4]', 'aliases: [qwen]'))).toEqual([
      'models[1]: name "qwen" is already used by model "Qwen/Qwen3.6-35B-A3B-FP8"',
    ]);
    expect(problemsOf(shipped.replace('aliases: [bge-m3]', 'aliases: [auto]'))).toEqual([
      'models[2]: "auto" is reserved for routing',
    ]);
    const withKey = shipped.replace(
      'hardware: NVIDIA A40\n',
      'hardware: NVIDIA A40\n    apiKey: env:VLLM_API_KEY\n',
    );
    expect(problemsOf(withKey)).toEqual([
      'upstreams[0].apiKey: environment variable VLLM_API_KEY is not set',
    ]);
    expect(parseConfig(withKey, { VLLM_API_KEY: 'secret' }).file.upstreams[0]?.apiKey).toBe('secret');
  });

  it('reports YAML syntax errors and non-mapping documents', () => {
    expect(problemsOf('appliance: [unclosed')[0]).toMatch(/YAML/);
    expect(problemsOf('- a list')).toEqual(['<inline>: the document must be a mapping']);
  });
});
