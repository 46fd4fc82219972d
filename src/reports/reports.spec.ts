// The report builders and renderers on evidence built from a parsed configuration (the database facts are
// given as the plain values the collector would read). The e2e test covers the collector and the routes.
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateAuthority } from '../../test/helpers/certificates';
import { parseConfig } from '../config/config.loader';
import { buildDpa } from './dpa';
import { escapeHtml, renderHtml } from './html';
import { escapeMd, renderMarkdown } from './markdown';
import { evaluateMeasures, MEASURE_CHECKS } from './measures';
import { renderPdf, pdfText } from './pdf';
import { assessCountry, groupOperators } from './processing';
import { measuresCatalogue } from './report-data';
import { countKeys, type ReportEvidence } from './report-evidence';
import type { ReportDocument } from './report-model';
import { buildRopa } from './ropa';
import { locateUrl } from './service-location';
import { buildSubprocessors } from './subprocessors';
import { buildTom } from './tom';

const UPSTREAM = (id: string, operator: string, location: string, extra = '') => `
  - id: ${id}
    baseUrl: http://10.0.0.1:8000/v1
    location: ${location}
    operator: ${operator}
    networks: [10.0.0.0/8]${extra}`;

const GPU_CO = '{ name: GPU Co B.V., address: "Gpulaan 2, Delft", country: NL, contact: dpo@gpu.example }';
const SELF = '{ name: Acme Hosting B.V., country: NL }';

function configText(extraUpstreams = '', allowed = '[EEA]', extra = ''): string {
  return `appliance:
  name: Acme AI
  operator: { name: Acme Hosting B.V., address: "Acmeweg 1, Groningen", country: NL, contact: privacy@acme.example }
  dpo: { name: Jane Doe, email: dpo@acme.example }
residency: { allowedRegions: ${allowed} }
upstreams:${UPSTREAM('gpu-1', GPU_CO, '{ country: NL, city: Delft, site: DC-A }')}${UPSTREAM('gpu-2', GPU_CO, '{ country: NL, city: Delft, site: DC-A }')}${UPSTREAM('own-1', SELF, '{ country: NL, city: Groningen, site: Basement }')}${extraUpstreams}
models:
  - { id: chat-model, kind: chat, upstreams: [gpu-1, gpu-2], cache: { ttlSeconds: 30 } }
  - { id: embed-model, kind: embedding, upstreams: [own-1] }
  - { id: image-model, kind: image, upstreams: [gpu-1] }
  - { id: audio-model, kind: audio, upstreams: [own-1] }
${extra}`;
}

function evidence(text = configText(), overrides: Partial<ReportEvidence> = {}): ReportEvidence {
  const config = parseConfig(text, {}, '/etc/hunze/hunze.yaml');
  return {
    generatedAt: '2026-11-24T10:00:00.000Z',
    productVersion: '0.1.0',
    fingerprint: config.fingerprint,
    sourcePath: config.sourcePath,
    file: config.file,
    adminKeyConfigured: false,
    accounts: [{ account: 'default', active: 2, admin: 1, dpo: 1, user: 0, modelLimited: 0 }],
    keyColumns: [
      { name: 'id', type: 'uuid', length: null },
      { name: 'key_hash', type: 'character', length: 64 },
      { name: 'prefix', type: 'character varying', length: 16 },
    ],
    audit: { valid: true, checked: 7, anchor_seq: 0 },
    database: { embedded: true, directory: '/var/lib/hunze/pglite' },
    redis: null,
    ...overrides,
  };
}

const ALL = (e: ReportEvidence): ReportDocument[] => [
  buildDpa(e),
  buildTom(e),
  buildSubprocessors(e),
  buildRopa(e),
];

describe('measures catalogue', () => {
  it('has exactly one check per catalogue entry', () => {
    expect(measuresCatalogue.measures.map((m) => m.id).sort()).toEqual(Object.keys(MEASURE_CHECKS).sort());
  });

  it('states what is not in force or not checkable instead of claiming it', () => {
    const byId = (e: ReportEvidence) => new Map(evaluateMeasures(e).map((m) => [m.id, m]));
    const ok = byId(evidence());
    expect(ok.get('key-hashing')!.status).toBe('in_force');
    expect(ok.get('client-tls')!.status).toBe('not_verifiable');
    expect(ok.get('backups')!.status).toBe('not_configured');
    expect(ok.get('upstream-tls')!.status).toBe('not_in_force');
    expect(ok.get('redundancy')!.status).toBe('partial');
    expect(ok.get('audit-log')!.evidence[0]).toContain('intact, 7 rows checked');

    const bad = byId(
      evidence(configText(), {
        keyColumns: [{ name: 'key', type: 'text', length: null }],
        audit: { valid: false, checked: 3, anchor_seq: 0, firstBroken: { seq: 3, reason: 'hash_mismatch' } },
      }),
    );
    expect(bad.get('key-hashing')!.status).toBe('not_in_force');
    expect(bad.get('key-hashing')!.evidence.join(' ')).toContain('Column that could hold a key: key');
    expect(bad.get('audit-log')!.status).toBe('not_in_force');
    expect(bad.get('audit-log')!.evidence[0]).toContain('BROKEN at row 3');
  });
});

describe('TLS to the inference servers', () => {
  let dir: string;
  let caFile: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hunze-reports-tls-'));
    caFile = certificateAuthority(dir, 'ca', 'Hunze Test CA').certFile;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The config with the named upstreams moved to https (gpu-1 with its own CA and server name). */
  const withHttps = (...ids: string[]) =>
    ids.reduce((text, id) => {
      const tls = id === 'gpu-1' ? `\n    tls: { ca: ${caFile}, serverName: gpu.internal }` : '';
      return text.replace(
        `- id: ${id}\n    baseUrl: http://10.0.0.1:8000/v1`,
        `- id: ${id}\n    baseUrl: https://10.0.0.1:8443/v1${tls}`,
      );
    }, configText());
  const upstreamTls = (text: string) =>
    evaluateMeasures(evidence(text)).find((m) => m.id === 'upstream-tls')!;

  it('is in force when every upstream is https, partly when some are, and says how each is verified', () => {
    const all = upstreamTls(withHttps('gpu-1', 'gpu-2', 'own-1'));
    expect(all.status).toBe('in_force');
    expect(all.evidence).toEqual([
      '3 of 3 upstreams reached over TLS',
      `gpu-1: https, certificate verified against the CA in ${caFile} (tls.ca) for the name gpu.internal`,
      "gpu-2: https, certificate verified against the system's trusted CAs for the name 10.0.0.1",
      "own-1: https, certificate verified against the system's trusted CAs for the name 10.0.0.1",
      expect.stringContaining('Certificate verification has no switch'),
    ]);

    const some = upstreamTls(withHttps('gpu-1'));
    expect(some.status).toBe('partial');
    expect(some.evidence).toContain(
      'gpu-2: plain HTTP, not encrypted; confined to the declared networks 10.0.0.0/8',
    );
    expect(some.evidence[0]).toBe('1 of 3 upstreams reached over TLS');

    const none = upstreamTls(configText());
    expect(none.status).toBe('not_in_force');
    expect(none.evidence.join('\n')).not.toContain('no switch');
    const tom = renderMarkdown(buildTom(evidence(withHttps('gpu-1'))));
    expect(tom).toContain('Encryption of connections to the inference servers');
    expect(tom).toContain('Partly in force');
  });
});

describe('where data can go besides the upstreams', () => {
  const measure = (e: ReportEvidence, id: string) => evaluateMeasures(e).find((m) => m.id === id)!;
  const EGRESS = `
    egress: { defaultDeny: true, allowed: [10.20.0.0/24, 10.20.1.2/32] }`;
  const external = (host: string) => ({
    database: {
      embedded: false as const,
      location: locateUrl(`postgres://u:pw-9f3k@${host}:5432/hunze`, '5432'),
    },
    redis: { location: locateUrl(`redis://:redis-pw-77@${host}:6379/0`, '6379') },
  });

  it('states the media policy: refused by default, fetched through the residency check when configured', () => {
    const refused = measure(evidence(), 'media-urls');
    expect(refused.status).toBe('in_force');
    expect(refused.evidence[0]).toMatch(/^Remote media URLs are refused \(media.remoteUrls: refuse\)/);
    expect(refused.evidence[0]).toContain('400 remote_media_refused and nothing is sent to an upstream');

    const fetched = measure(
      evidence(
        configText(
          '',
          '[EEA]',
          'media: { remoteUrls: fetch, allowedHosts: [media.internal, 10.9.0.0/16], maxBytes: 1048576 }',
        ),
      ),
      'media-urls',
    );
    expect(fetched.status).toBe('in_force');
    expect(fetched.evidence.join('\n')).toContain('geolocate to the allowed regions (EEA)');
    expect(fetched.evidence.join('\n')).toContain('media.allowedHosts (media.internal, 10.9.0.0/16)');
    expect(fetched.evidence.join('\n')).toContain('At most 1048576 bytes (media.maxBytes) within 10000 ms');
  });

  it('states where the database and Redis are declared to be and that every connection is checked against it', () => {
    const declared = evidence(
      configText(
        '',
        '[EEA]',
        'database: { networks: [10.20.1.0/24] }\nredis: { networks: [10.20.1.0/24], country: DE }',
      ),
      external('10.20.1.31'),
    );
    const db = measure(declared, 'database-location');
    expect(db.status).toBe('in_force');
    expect(db.evidence).toEqual([
      'External PostgreSQL at 10.20.1.31:5432 (private network address)',
      'Declared location: networks 10.20.1.0/24 (database.networks), country NL (appliance.operator.country)',
      expect.stringMatching(
        /^Residency-guarded: at start and at every reconnect .* audited as residency_violation$/,
      ),
      'Encryption at rest of the database storage is not verifiable from the appliance',
    ]);
    const redis = measure(declared, 'redis-location');
    expect(redis.status).toBe('in_force');
    expect(redis.evidence[1]).toBe(
      'Declared location: networks 10.20.1.0/24 (redis.networks), country DE (redis.country)',
    );
    const dpa = renderMarkdown(buildDpa(declared));
    expect(dpa).toContain(
      'PostgreSQL at 10.20.1.31:5432, inside 10.20.1.0/24 in NL, checked at every connect',
    );
    expect(dpa).toContain('Media referenced by URL: refused');
    for (const secret of ['pw-9f3k', 'redis-pw-77']) expect(dpa).not.toContain(secret);

    // Nothing declared: the appliance itself only.
    const local = measure(evidence(configText(), external('127.0.0.1')), 'database-location');
    expect(local.status).toBe('in_force');
    expect(local.evidence[1]).toBe(
      'Declared location: none (database.networks is empty), so only loopback or a Unix socket on this machine is allowed',
    );

    // A country outside the allowed regions (refused at start; the report says so should it ever be read).
    declared.file.redis.country = 'US';
    expect(measure(declared, 'redis-location').status).toBe('not_in_force');
    expect(measure(declared, 'redis-location').evidence).toContain(
      'US is OUTSIDE the allowed regions (residency.allowedRegions)',
    );
  });

  it('states where images requested as a URL are held: this appliance, or Redis shared by the replicas', () => {
    const imageLine = (e: ReportEvidence) =>
      measure(e, 'retention').evidence.find((line) => line.startsWith('Generated images'));
    expect(imageLine(evidence())).toBe(
      "Generated images requested as a URL: 10 minutes in the appliance's memory, never on disk (retention.imageMinutes)",
    );
    const withRedis = evidence(undefined, external('127.0.0.1'));
    expect(imageLine(withRedis)).toBe(
      "Generated images requested as a URL: 10 minutes in Redis's memory, shared by the replicas (redis.url; a Redis that writes to disk is given none), never on disk (retention.imageMinutes)",
    );
    expect(renderMarkdown(buildDpa(withRedis))).toContain(
      'Shared rate-limit state and images requested as a URL: Redis at 127.0.0.1:6379',
    );
  });

  it("states the inference servers' egress lockdown as declared by the deployment, never as verified", () => {
    const none = measure(evidence(), 'backend-egress');
    expect(none.status).toBe('not_configured');
    expect(none.evidence[0]).toBe('gpu-1: no egress restriction declared (upstreams[].egress)');

    const withEgress = (ids: string[]) =>
      ids.reduce(
        (text, id) =>
          text.replace(
            `- id: ${id}\n    baseUrl: http://10.0.0.1:8000/v1`,
            `- id: ${id}\n    baseUrl: http://10.0.0.1:8000/v1${EGRESS}`,
          ),
        configText(),
      );
    const all = measure(evidence(withEgress(['gpu-1', 'gpu-2', 'own-1'])), 'backend-egress');
    expect(all.status).toBe('not_verifiable');
    expect(all.evidence).toContain(
      'gpu-1: default-deny egress declared by the deployment; allowed: 10.20.0.0/24, 10.20.1.2/32',
    );
    expect(all.evidence.join('\n')).toContain('not verifiable from the appliance');

    const some = measure(evidence(withEgress(['gpu-2'])), 'backend-egress');
    expect(some.status).toBe('partial');
    const tom = renderMarkdown(buildTom(evidence(withEgress(['gpu-1', 'gpu-2', 'own-1']))));
    expect(tom).toContain('Outbound traffic of the inference servers');
    expect(tom).toContain('Media referenced by URL');
  });
});

describe('sub-processors', () => {
  it('groups upstreams by operator and keeps the processor itself apart', () => {
    const groups = groupOperators(evidence().file);
    expect(groups.map((g) => [g.name, g.isProcessor, g.upstreams])).toEqual([
      ['GPU Co B.V.', false, ['gpu-1', 'gpu-2']],
      ['Acme Hosting B.V.', true, ['own-1']],
    ]);
    expect(groups[0]!.models).toEqual(['chat-model', 'image-model']);
    expect(groups[0]!.dataCategories).toEqual([
      'Text prompts and completions',
      'Image prompts and generated images',
    ]);
    expect(groups[0]!.sites).toEqual(['DC-A, Delft, NL']);
  });

  it('adds a row for a new operator and flags adequacy and third countries', () => {
    const extra =
      UPSTREAM('fra-1', '{ name: Rechenzentrum GmbH, country: DE }', '{ country: DE, city: Frankfurt }') +
      UPSTREAM('us-1', '{ name: Cloud Inc., country: US }', '{ country: US, city: Ashburn }') +
      UPSTREAM('in-1', '{ name: Compute Pvt Ltd, country: IN }', '{ country: IN, city: Mumbai }');
    const telemetry =
      'telemetry: { otlpEndpoint: "http://10.9.9.9:4318", otlpNetworks: [10.9.9.0/24], otlpCountry: CH }\n';
    const e = evidence(configText(extra, '[EEA, US, IN, CH]', telemetry));
    const groups = groupOperators(e.file).filter((g) => !g.isProcessor);
    expect(groups.map((g) => g.name)).toEqual([
      'Cloud Inc.',
      'Compute Pvt Ltd',
      'GPU Co B.V.',
      'Rechenzentrum GmbH',
    ]);
    expect(assessCountry('DE').kind).toBe('eea');
    expect(assessCountry('US').text).toContain('FLAGGED');
    expect(assessCountry('US').text).toContain('Data Privacy Framework');
    expect(assessCountry('IN').kind).toBe('third_country');
    expect(assessCountry('CH').kind).toBe('adequacy');
    const md = renderMarkdown(buildSubprocessors(e));
    expect(md).toContain('Rechenzentrum GmbH (DE)');
    expect(md).toContain('Frankfurt, DE');
    expect(md).toContain('FLAGGED: 2 location(s) outside the EEA');
    const ropa = renderMarkdown(buildRopa(e));
    expect(ropa).toContain('Decision (EU) 2021/914, Module Three');
    expect(ropa).toMatch(
      /OTLP collector .*\| CH: FLAGGED, transfer to a third country with an adequacy decision/,
    );
    expect(renderMarkdown(buildRopa(evidence()))).toContain(
      'None: every upstream is located inside the EEA (NL)',
    );
  });
});

describe('documents', () => {
  it('fill the DPA annexes from the configuration and leave the parties their blanks', () => {
    const md = renderMarkdown(buildDpa(evidence()));
    expect(md).toContain('Annex I – List of parties');
    expect(md).toContain('Acme Hosting B.V.');
    expect(md).toContain('Jane Doe, dpo@acme.example');
    expect(md).toContain('Audio recordings and their transcripts (audio-model)');
    expect(md).toContain('395 days (retention.usageDays)');
    expect(md).toContain('\\[SPECIFY TIME PERIOD\\]');
    expect(md).toContain('7.7 | Use of sub-processors');
    expect(md).toContain('GPU Co B.V. (NL)');
  });

  it('are the same for the same state apart from the time stamp, in every format', async () => {
    const a = evidence();
    const b = { ...a, generatedAt: '2026-11-25T11:00:00.000Z' };
    for (const build of [buildDpa, buildTom, buildSubprocessors, buildRopa]) {
      const strip = (s: string, at: string) => s.split(at).join('<T>');
      expect(strip(renderMarkdown(build(a)), a.generatedAt)).toBe(
        strip(renderMarkdown(build(b)), b.generatedAt),
      );
      expect(strip(renderHtml(build(a)), a.generatedAt)).toBe(strip(renderHtml(build(b)), b.generatedAt));
      expect((await renderPdf(build(a))).equals(await renderPdf(build(a)))).toBe(true);
    }
  });

  it('never carry database or Redis credentials', () => {
    const e = evidence(configText(), {
      database: {
        embedded: false,
        location: locateUrl('postgres://hunze:s3cr3t-pw@db.internal:6543/hunze', '5432'),
      },
      redis: { location: locateUrl('redis://:r3dis-pw@10.1.2.3', '6379') },
    });
    const text = ALL(e)
      .map((d) => JSON.stringify(d) + renderMarkdown(d) + renderHtml(d))
      .join('\n');
    expect(text).not.toMatch(/s3cr3t-pw|r3dis-pw|hunze:/);
    expect(text).toContain('db.internal:6543 (host name, not resolved for this report)');
    expect(text).toContain('10.1.2.3:6379 (private network address)');
  });

  it('escape configuration text in markdown and html; html loads nothing', () => {
    const text = configText().replace('name: Acme AI', 'name: "<script>x</script> *bold* | pipe"');
    const doc = buildTom(evidence(text));
    const html = renderHtml(doc);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(html).not.toMatch(/(src|href)\s*=|@import|url\(/i);
    expect(renderMarkdown(doc)).toContain('\\<script\\>x\\</script\\> \\*bold\\* \\| pipe');
    expect(escapeMd('- item')).toBe('\\- item');
    expect(escapeHtml(`a&"'`)).toBe('a&amp;&quot;&#39;');
  });
});

describe('pdf', () => {
  it('maps text to what the standard fonts can show', () => {
    expect(pdfText('Kraków – Łódź “x” €')).toBe('Kraków – ?ódz “x” €');
    expect(pdfText('a\nb\tc')).toBe('a b c');
  });

  it('renders a complete PDF with document info (content: see the e2e test)', async () => {
    const pdf = await renderPdf(buildTom(evidence()));
    const text = pdf.toString('latin1');
    expect(text.startsWith('%PDF-')).toBe(true);
    expect(text).toMatch(/\/Title \d+ 0 R/);
    expect(text).toMatch(/\/Author \d+ 0 R/);
    expect(text.trimEnd().endsWith('%%EOF')).toBe(true);
  });
});

describe('countKeys', () => {
  it('counts active keys per account and role, sorted by account', () => {
    const now = Date.parse('2026-11-24T00:00:00Z');
    const key = (account: string, role: string, extra: Record<string, unknown> = {}) => ({
      id: 'x',
      object: 'api_key' as const,
      name: 'k',
      prefix: 'hz-',
      role,
      account,
      models: null,
      rpm: null,
      tpm: null,
      monthly_tokens: null,
      expires_at: null,
      revoked_at: null,
      created_at: '2026-01-01T00:00:00Z',
      ...extra,
    });
    expect(
      countKeys(
        [
          key('b', 'user', { models: ['m'] }),
          key('a', 'admin'),
          key('b', 'user', { revoked_at: '2026-02-01T00:00:00Z' }),
          key('b', 'dpo', { expires_at: '2026-11-01T00:00:00Z' }),
        ],
        now,
      ),
    ).toEqual([
      { account: 'a', active: 1, admin: 1, dpo: 0, user: 0, modelLimited: 0 },
      { account: 'b', active: 1, admin: 0, dpo: 0, user: 1, modelLimited: 1 },
    ]);
  });
});
