// The DPO's reports through a real Hunze: GET /admin/v1/reports/{name}?format= for admin and dpo keys (and
// 403 for the rest), the content read from the test configuration and database, a German operator in
// Frankfurt showing up as a new sub-processor with a new fingerprint, the same state giving the same content,
// the PDF read back with poppler (pdftotext, pdfinfo, pdftoppm), self-contained HTML, one audit event per
// export, and `hunze report all` from the built CLI in every format.
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReportBlock, ReportDocument, ReportSection } from '../../src/reports/report-model';
import { ReportsService, renderReport } from '../../src/reports/reports.service';
import { FakeVllm } from '../fakes/fake-vllm';
import { adminCall, expectOpenAiError } from '../helpers/admin-api';
import { PROCESS_TEST_MS, runCli, startServe, type ServeChild } from '../helpers/cli';
import {
  ADMIN_KEY,
  configYaml,
  startTestApp,
  usingPostgres,
  type TestApp,
  type TestAppOptions,
} from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const NAMES = ['dpa', 'tom', 'subprocessors', 'ropa'] as const;
const FORMATS = ['md', 'html', 'pdf', 'json'] as const;
const CONTENT_TYPES = {
  md: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
  pdf: 'application/pdf',
  json: 'application/json; charset=utf-8',
};
const VERSION = (
  JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
).version;
/**
 * One CLI run that opens its own database: two at once on a fresh embedded database each took over a minute
 * on a loaded machine. Tests that run them get this on top of Jest's timeout.
 */
const CLI_MS = 240_000;
// Hooks and tests here start CLIs and a server, each opening its own database.
jest.setTimeout(PROCESS_TEST_MS);
const itPostgres = usingPostgres() ? it : it.skip;
const itPglite = usingPostgres() ? it.skip : it;

const FRANKFURT_UPSTREAM = `
  - id: fra-1
    baseUrl: http://127.0.0.1:9/v1
    location: { country: DE, city: Frankfurt am Main, site: FRA1 }
    operator: { name: Rechenzentrum Frankfurt GmbH, address: "Mainzer Landstrasse 1, 60329 Frankfurt am Main", country: DE }
    networks: [127.0.0.0/8]
    healthCheck: { intervalSeconds: 0 }`;
const FRANKFURT_MODEL = `
  - { id: frankfurt-chat, kind: chat, upstreams: [fra-1] }`;

/** The test configuration plus one upstream run by a German operator in Frankfurt, with a model on it. */
function withFrankfurt(yaml: string): string {
  return yaml
    .replace('\nmodels:', `${FRANKFURT_UPSTREAM}\nmodels:`)
    .replace('\nredis:', `${FRANKFURT_MODEL}\nredis:`);
}

interface Fetched {
  status: number;
  headers: Headers;
  body: Buffer;
}

function findSection(doc: ReportDocument, heading: string): ReportSection {
  const walk = (sections: ReportSection[]): ReportSection | undefined =>
    sections.reduce<ReportSection | undefined>(
      (found, s) => found ?? (s.heading === heading ? s : walk(s.subsections ?? [])),
      undefined,
    );
  const section = walk(doc.sections);
  if (!section) throw new Error(`no section "${heading}"`);
  return section;
}

function tableRows(section: ReportSection): string[][] {
  const table = section.blocks.find((b): b is Extract<ReportBlock, { kind: 'table' }> => b.kind === 'table');
  return table?.rows ?? [];
}

describe('compliance reports', () => {
  let upstream: FakeVllm;
  let hunze: TestApp;
  let options: TestAppOptions;
  let tmp: string;
  let dpo: { id: string; key: string };
  let user: { id: string; key: string };

  const get = async (path: string, key: string): Promise<Fetched> => {
    const response = await fetch(`${hunze.url}/admin/v1/reports/${path}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    return {
      status: response.status,
      headers: response.headers,
      body: Buffer.from(await response.arrayBuffer()),
    };
  };
  const exported = async (): Promise<{ actor: string; target: string; details: unknown }[]> => {
    const res = await adminCall(hunze.url, 'GET', '/audit?action=report.exported&limit=1000', {
      key: ADMIN_KEY,
    });
    expect(res.status).toBe(200);
    return res.body.data;
  };
  const pdftotext = (file: string): string => execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' });
  /**
   * A report as JSON from the built CLI for a configuration text: a process of its own, since the embedded
   * database allows one per process (its own fresh data directory; the test database with Postgres).
   */
  const reportFromCli = async (yaml: string, name: string): Promise<ReportDocument> => {
    const dir = mkdtempSync(join(tmp, 'cli-'));
    writeFileSync(join(dir, 'hunze.yaml'), yaml);
    const result = await runCli(
      ['report', name, '--format', 'json'],
      {
        HUNZE_CONFIG: join(dir, 'hunze.yaml'),
        HUNZE_ADMIN_KEY: ADMIN_KEY,
        // Beside the configuration, not around it: Hunze makes its data directory private (0700/0600).
        HUNZE_DATA_DIR: join(dir, 'data'),
        ...(hunze.databaseUrl ? { DATABASE_URL: hunze.databaseUrl } : {}),
      },
      CLI_MS,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as ReportDocument;
  };

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: MODEL });
    options = {
      upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
      models: [
        { id: MODEL, aliases: ['qwen'], upstreams: ['vllm-a'] },
        { id: 'bge-m3', kind: 'embedding', upstreams: ['vllm-a'] },
      ],
    };
    hunze = await startTestApp(options);
    dpo = await hunze.createKey({ name: 'the dpo', role: 'dpo', account: 'privacy' });
    user = await hunze.createKey({ name: 'a user', role: 'user', account: 'team-a' });
    tmp = mkdtempSync(join(tmpdir(), 'hunze-reports-e2e-'));
  });

  afterAll(async () => {
    await hunze?.close();
    await upstream?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('gives the dpo every report in every format as a dated download stamped with version and fingerprint', async () => {
    const today = new Date().toISOString().slice(0, 10);
    for (const name of NAMES) {
      for (const format of FORMATS) {
        const res = await get(`${name}?format=${format}`, dpo.key);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe(CONTENT_TYPES[format]);
        expect(res.headers.get('content-disposition')).toBe(
          `attachment; filename="hunze-${name}-${today}.${format}"`,
        );
        expect(res.body.length).toBeGreaterThan(1000);
        if (format !== 'pdf') expect(res.body.toString('utf8')).toContain(hunze.config.fingerprint);
      }
    }
    const json = JSON.parse((await get('tom?format=json', dpo.key)).body.toString('utf8')) as ReportDocument;
    expect(json).toMatchObject({
      schema: 'hunze.report/1',
      report: 'tom',
      author: 'Test Operator B.V.',
      stamp: { product: 'Hunze', product_version: VERSION, config_fingerprint: hunze.config.fingerprint },
    });
    expect(Date.now() - Date.parse(json.stamp.generated_at)).toBeLessThan(60_000);
    const md = (await get('tom', ADMIN_KEY)).body.toString('utf8'); // md is the default
    expect(md.startsWith('# Technical and organisational measures\n')).toBe(true);
  });

  it('states the operators, locations and measures of the running configuration and database', async () => {
    const text = async (name: string) => (await get(`${name}?format=md`, dpo.key)).body.toString('utf8');
    const subprocessors = await text('subprocessors');
    expect(subprocessors).toContain('Test Hosting B.V. (NL)');
    expect(subprocessors).toContain('Test DC, Groningen, NL');
    expect(subprocessors).toContain('NL: none needed (inside the EEA, no transfer)');
    expect(subprocessors).toContain('Text prompts and completions; Texts submitted for embedding');

    const tom = await text('tom');
    expect(tom).toContain('key\\_hash: character(64)');
    expect(tom).toContain('No column that could hold a key itself');
    expect(tom).toMatch(/Chain verified at generation time: intact, \d+ rows checked from seq 1/);
    expect(tom).toContain('listens with plain HTTP (no TLS of its own) on 127.0.0.1:0 (loopback address');
    expect(tom).toContain('| 15 | Backups and restore | Availability control | Not configured |');
    expect(tom).toContain('Remote media URLs are refused (media.remoteUrls: refuse)');
    expect(tom).toContain('vllm-a: no egress restriction declared (upstreams\\[\\].egress)');
    expect(tom).toContain('Allowed regions (residency.allowedRegions): EEA (30 countries');
    expect(tom).toContain('vllm-a: NL, inside the allowed regions; networks 127.0.0.0/8');
    expect(tom).toContain('vllm-a: plain HTTP, not encrypted; confined to the declared networks 127.0.0.0/8');
    expect(tom).toMatch(/Active keys by role: admin \d+, dpo [1-9]\d*, user [1-9]\d*/);
    expect(tom).toContain(
      usingPostgres() ? 'External PostgreSQL at 127.0.0.1:5432' : 'Embedded PostgreSQL (PGlite)',
    );
    if (usingPostgres())
      expect(tom).toContain(
        'Declared location: none (database.networks is empty), so only loopback or a Unix socket on this machine is allowed',
      );

    const dpa = await text('dpa');
    expect(dpa).toContain('Annex I – List of parties');
    expect(dpa).toContain('Teststraat 1, Groningen, NL');
    expect(dpa).toContain(`Text prompts and completions (${MODEL})`);
    expect(dpa).toContain('Usage metadata: 395 days (retention.usageDays)');
    expect(dpa).toContain('Annex IV – List of sub-processors');
    expect(dpa).toContain('Media referenced by URL: refused');

    const ropa = await text('ropa');
    expect(ropa).toContain('(c) Transfers of personal data to a third country');
    expect(ropa).toContain('None: every upstream is located inside the EEA (NL)');
    expect(ropa).toMatch(/\| privacy \| 1 \| 0 \| 1 \| 0 \|/);
    for (const secret of [ADMIN_KEY, dpo.key, user.key])
      expect(dpa + tom + ropa + subprocessors).not.toContain(secret);
  });

  it(
    'adds a German operator in Frankfurt as a sub-processor under a new fingerprint',
    async () => {
      const base = configYaml(options);
      const [before, after] = await Promise.all([
        reportFromCli(base, 'subprocessors'),
        reportFromCli(withFrankfurt(base), 'subprocessors'),
      ]);
      expect(before.stamp.config_fingerprint).toBe(hunze.config.fingerprint);
      expect(after.stamp.config_fingerprint).not.toBe(before.stamp.config_fingerprint);

      const rowsBefore = tableRows(findSection(before, 'Sub-processors'));
      const rowsAfter = tableRows(findSection(after, 'Sub-processors'));
      expect(rowsBefore.map((r) => r[1])).toEqual(['Test Hosting B.V. (NL)']);
      expect(rowsAfter.map((r) => r[1])).toEqual([
        'Rechenzentrum Frankfurt GmbH (DE)',
        'Test Hosting B.V. (NL)',
      ]);
      expect(rowsAfter[0]).toEqual([
        '1',
        'Rechenzentrum Frankfurt GmbH (DE)',
        'Mainzer Landstrasse 1, 60329 Frankfurt am Main',
        'FRA1, Frankfurt am Main, DE',
        'frankfurt-chat: Text prompts and completions',
        'DE: none needed (inside the EEA, no transfer)',
      ]);
    },
    CLI_MS + 60_000,
  );

  it('gives the same content for the same configuration and database state, apart from the time', async () => {
    const reports = hunze.app.get(ReportsService);
    for (const name of NAMES) {
      const first = await reports.build(name, new Date('2026-11-24T08:00:00.000Z'));
      const second = await reports.build(name, new Date('2026-11-24T09:30:00.000Z'));
      const untimed = (doc: ReportDocument, text: string) =>
        text.split(doc.stamp.generated_at).join('<time>');
      expect(untimed(second, JSON.stringify(second))).toBe(untimed(first, JSON.stringify(first)));
      for (const format of ['md', 'html'] as const) {
        const a = (await renderReport(first, format)).toString('utf8');
        const b = (await renderReport(second, format)).toString('utf8');
        expect(untimed(second, b)).toBe(untimed(first, a));
      }
      const pdf = await renderReport(first, 'pdf');
      expect((await renderReport(first, 'pdf')).equals(pdf)).toBe(true); // same model: same bytes
    }
    // Through the API (which audits each export, so the audit-log row count moves): the sub-processor list
    // does not depend on the audit log and stays identical apart from the time.
    const untimedJson = async () => {
      const doc = JSON.parse(
        (await get('subprocessors?format=json', dpo.key)).body.toString('utf8'),
      ) as ReportDocument;
      return JSON.stringify(doc).split(doc.stamp.generated_at).join('<time>');
    };
    expect(await untimedJson()).toBe(await untimedJson());
  });

  it('renders a readable PDF: headings, fingerprint and "Page n of m" on every page, metadata, PNG pages', async () => {
    const res = await get('tom?format=pdf', dpo.key);
    expect(res.body.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const file = join(tmp, 'tom.pdf');
    writeFileSync(file, res.body);

    const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
    expect(info).toMatch(/^Title:\s+Technical and organisational measures$/m);
    expect(info).toMatch(/^Author:\s+Test Operator B\.V\.$/m);
    expect(info).toMatch(/^Creator:\s+Hunze /m);
    const pages = Number(/^Pages:\s+(\d+)$/m.exec(info)?.[1]);
    expect(pages).toBeGreaterThan(2);

    const text = pdftotext(file);
    for (const heading of [
      'Technical and organisational measures',
      'Summary',
      'Tamper-evident audit log',
      'Status legend',
    ])
      expect(text).toContain(heading);
    expect(text).toContain('Test Hosting B.V.');
    for (let page = 1; page <= pages; page++) expect(text).toContain(`Page ${page} of ${pages}`);
    const fingerprints = text.split(`Configuration fingerprint ${hunze.config.fingerprint}`).length - 1;
    expect(fingerprints).toBeGreaterThanOrEqual(pages); // every footer, plus the title block

    const dpaFile = join(tmp, 'dpa.pdf');
    writeFileSync(dpaFile, (await get('dpa?format=pdf', dpo.key)).body);
    expect(pdftotext(dpaFile)).toContain('Annex III – Technical and organisational measures');

    execFileSync('pdftoppm', ['-png', '-r', '50', file, join(tmp, 'page')]);
    const pngs = readdirSync(tmp).filter((f) => /^page-\d+\.png$/.test(f));
    expect(pngs).toHaveLength(pages);
    for (const png of pngs) {
      const bytes = readFileSync(join(tmp, png));
      expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect(bytes.length).toBeGreaterThan(5_000); // a page with text on it, not a blank one
    }
  });

  it('renders self-contained HTML that loads nothing and has a print stylesheet', async () => {
    for (const name of NAMES) {
      const html = (await get(`${name}?format=html`, dpo.key)).body.toString('utf8');
      expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
      expect(html).not.toMatch(/\b(src|href|srcset|action)\s*=/i);
      expect(html).not.toMatch(/@import|url\(|<script|<link|<img|<iframe/i);
      expect(html).toContain('@page');
      expect(html).toContain('@media print');
      expect(html).toContain(hunze.config.fingerprint);
    }
  });

  it('lets admin and dpo read reports, refuses users and bad requests, and the dpo cannot write keys', async () => {
    expect((await get('ropa?format=json', ADMIN_KEY)).status).toBe(200);
    const forUser = await get('dpa', user.key);
    expect(forUser.status).toBe(403);
    expectOpenAiError(JSON.parse(forUser.body.toString('utf8')), 'permission_denied');
    expect((await get('dpa', 'hz-not-a-key')).status).toBe(401);

    const unknown = await get('minutes?format=md', dpo.key);
    expect(unknown.status).toBe(404);
    expectOpenAiError(JSON.parse(unknown.body.toString('utf8')), 'not_found');
    const badFormat = await get('dpa?format=docx', dpo.key);
    expect(badFormat.status).toBe(400);
    expectOpenAiError(JSON.parse(badFormat.body.toString('utf8')), 'invalid_request_error', 'format');

    const write = await adminCall(hunze.url, 'POST', '/keys', { key: dpo.key }, { name: 'not allowed' });
    expect(write.status).toBe(403);
    expectOpenAiError(write.body, 'permission_denied');
  });

  it('writes one audit event per export, naming who, which report and which format', async () => {
    const before = (await exported()).length;
    expect((await get('ropa?format=html', dpo.key)).status).toBe(200);
    expect((await get('dpa?format=pdf', ADMIN_KEY)).status).toBe(200);
    expect((await get('dpa?format=docx', dpo.key)).status).toBe(400); // refused: not an export
    const events = await exported();
    expect(events).toHaveLength(before + 2);
    expect(events.slice(-2)).toEqual([
      expect.objectContaining({ actor: dpo.id, target: 'ropa', details: { report: 'ropa', format: 'html' } }),
      expect.objectContaining({
        actor: 'break-glass',
        target: 'dpa',
        details: { report: 'dpa', format: 'pdf' },
      }),
    ]);
    const verify = await adminCall(hunze.url, 'GET', '/audit/verify', { key: dpo.key });
    expect(verify.body).toMatchObject({ valid: true });
  });

  describe('hunze report', () => {
    let env: Record<string, string>;
    /** PGlite: the running server the CLI goes through, started in its own hook (it can take long to start). */
    let server: ServeChild | undefined;
    beforeAll(async () => {
      const configPath = join(tmp, 'hunze.yaml');
      writeFileSync(configPath, configYaml(options));
      env = { HUNZE_CONFIG: configPath, HUNZE_ADMIN_KEY: ADMIN_KEY, HUNZE_DATA_DIR: join(tmp, 'data') };
      mkdirSync(env.HUNZE_DATA_DIR!, { recursive: true, mode: 0o700 });
      if (!usingPostgres()) server = await startServe(env);
    });
    afterAll(() => server?.stop());

    /** Runs `report all` into a new directory; checks the 16 files. */
    const exportAll = async (cliEnv: Record<string, string>, fingerprint: string): Promise<void> => {
      const out = join(tmp, `all-${Date.now()}`);
      const result = await runCli(['report', 'all', '--out', out], cliEnv, CLI_MS);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const files = readdirSync(out).sort();
      expect(files).toHaveLength(16);
      expect(result.stdout.trim().split('\n').sort()).toEqual(files.map((f) => join(out, f)));
      for (const name of NAMES)
        for (const format of FORMATS) {
          const file = files.find((f) => f.startsWith(`hunze-${name}-`) && f.endsWith(`.${format}`));
          expect(file).toBeDefined();
          expect(statSync(join(out, file!)).size).toBeGreaterThan(1000);
          if (format === 'json')
            expect(JSON.parse(readFileSync(join(out, file!), 'utf8'))).toMatchObject({
              report: name,
              stamp: { config_fingerprint: fingerprint },
            });
          if (format === 'pdf') expect(pdftotext(join(out, file!))).toContain(`Page 1 of`);
        }
    };

    itPostgres(
      'writes all four reports in every format straight from Postgres, audited as the cli',
      async () => {
        const cliEnv = { ...env, DATABASE_URL: hunze.databaseUrl! };
        const before = (await exported()).length;
        await exportAll(cliEnv, hunze.config.fingerprint);
        const events = await exported();
        expect(events).toHaveLength(before + 16);
        expect(events.slice(-16).every((e) => e.actor === 'cli')).toBe(true);

        const single = await runCli(['report', 'subprocessors'], cliEnv);
        expect(single.code).toBe(0);
        expect(single.stdout).toContain('# List of sub-processors');
        const bad = await runCli(['report', 'minutes'], cliEnv);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toContain('unknown report: minutes');
      },
      CLI_MS + 60_000,
    );

    itPglite(
      'writes all four reports in every format through the running server on the embedded database',
      async () => {
        const config = await adminCall(server!.url, 'GET', '/config', { key: ADMIN_KEY });
        await exportAll(env, config.body.fingerprint as string);
        const audit = await adminCall(server!.url, 'GET', '/audit?action=report.exported&limit=100', {
          key: ADMIN_KEY,
        });
        expect(audit.body.data).toHaveLength(16);
        expect((audit.body.data as { actor: string }[]).every((e) => e.actor === 'local-cli')).toBe(true);

        const pdf = await runCli(['report', 'tom', '--format', 'pdf'], env); // stdout is a pipe, not a TTY
        expect(pdf.code).toBe(0);
        expect(pdf.stdout.startsWith('%PDF-')).toBe(true);
        const file = join(tmp, 'one.md');
        const one = await runCli(['report', 'ropa', '--out', file], env);
        expect(one.code).toBe(0);
        expect(readFileSync(file, 'utf8')).toContain('# Record of processing activities');
      },
      CLI_MS + 60_000,
    );
  });
});
