// The web console (GET /console) in headless Chromium against a real Hunze on PostgreSQL with the fake vLLM
// upstream: the static files and their headers, keyboard-only sign-in, the key lifecycle (create, use with
// the openai SDK, revoke), the request showing up in the usage chart and the CSV, every report downloaded by
// the DPO, residency and audit status, the dpo's read-only view, and that the page talks to nobody but the
// appliance and trips no Content-Security-Policy rule. Needs `npm run build` (the console's files are served
// from dist/console/web). With HUNZE_CONSOLE_SCREENSHOTS=<dir> it saves a screenshot of every section there
// (docs/console holds the ones docs/console.md shows).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { Download, Page } from 'playwright-core';
import { CONSOLE_CSP } from '../../src/console/console-headers';
import { CONSOLE_ASSET_DIR } from '../../src/console/console-assets';
import { FakeVllm } from '../fakes/fake-vllm';
import { statusWithKey } from '../helpers/admin-api';
import { launchChromium, type TestBrowser } from '../helpers/browser';
import { ADMIN_KEY, startTestApp, waitFor, type TestApp } from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const EMBED = 'intfloat/multilingual-e5-large';
const GUARDED = 'guarded-model';
const SCREENSHOTS = process.env.HUNZE_CONSOLE_SCREENSHOTS;

describe('web console', () => {
  let upstream: FakeVllm;
  let hunze: TestApp;
  let browser: TestBrowser;
  let page: Page;
  let dpoKey: string;
  let createdKey = '';
  const requested: string[] = [];
  const problems: string[] = [];

  const view = (name: string) => page.locator(`#view-${name}`);
  const screenshot = async (name: string) => {
    if (!SCREENSHOTS) return;
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };
  const open = async (section: string) => {
    await page.locator(`#nav a[data-view="${section}"]`).click();
    await view(section).waitFor({ state: 'visible' });
  };
  const savedText = async (download: Download) => readFileSync(await download.path(), 'utf8');

  beforeAll(async () => {
    if (!existsSync(join(CONSOLE_ASSET_DIR, 'index.html')))
      throw new Error(`${CONSOLE_ASSET_DIR} is missing: run npm run build first`);
    upstream = await FakeVllm.start({ modelName: MODEL });
    hunze = await startTestApp({
      upstreams: [
        { id: 'gro-a40-1', baseUrl: upstream.baseUrl },
        // Declared in a network the fake (127.0.0.1) is not in: its connections are refused.
        { id: 'gro-l40s-9', baseUrl: upstream.baseUrl, networks: ['10.20.0.0/24'] },
      ],
      models: [
        { id: MODEL, aliases: ['qwen'], upstreams: ['gro-a40-1'] },
        { id: EMBED, kind: 'embedding', upstreams: ['gro-a40-1'] },
        { id: GUARDED, upstreams: ['gro-l40s-9'] },
      ],
    });
    dpoKey = (await hunze.createKey({ name: 'dpo-jane', role: 'dpo' })).key;
    await hunze.createKey({ name: 'batch-jobs', account: 'team-research', rpm: 600, tpm: 200_000 });
    browser = await launchChromium();
    page = await browser.context.newPage();
    // A stuck step fails with its own locator, inside Jest's timeout; long enough for a loaded machine.
    page.setDefaultTimeout(30_000);
    page.on('request', (request) => requested.push(request.url()));
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await hunze?.close();
    await upstream?.close();
  });

  it('serves its files without a key, with a strict CSP, known content types and nothing else', async () => {
    const index = await fetch(`${hunze.url}/console`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).toContain("connect-src 'self'");
    expect(index.headers.get('x-content-type-options')).toBe('nosniff');
    expect(index.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await index.text();
    // Nothing inline for the CSP to block, nothing from elsewhere.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(html).not.toMatch(/\sstyle=|<style/);
    expect(html).not.toMatch(/https?:\/\//);

    const script = await fetch(`${hunze.url}/console/main.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    const etag = script.headers.get('etag')!;
    const again = await fetch(`${hunze.url}/console/main.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect((await fetch(`${hunze.url}/console/console.css`)).headers.get('content-type')).toBe(
      'text/css; charset=utf-8',
    );
    for (const path of ['/console/missing.js', '/console/..%2Fpackage.json', '/console/tsconfig.json'])
      expect((await fetch(`${hunze.url}${path}`)).status).toBe(404);
  });

  it('signs in with the keyboard alone and keeps the key in session storage only', async () => {
    await page.goto(`${hunze.url}/console`);
    await page.locator('#signin-key').waitFor();
    // From the top of the page: skip link, then the key field.
    let focused = '';
    for (let presses = 0; presses < 6 && focused !== 'signin-key'; presses++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate<string>('document.activeElement && document.activeElement.id');
    }
    expect(focused).toBe('signin-key');
    await page.keyboard.type(ADMIN_KEY);
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Sign in');
    await page.keyboard.press('Enter');
    await page.locator('#keys-heading').waitFor();
    expect(await page.locator('#who-role').textContent()).toBe('admin');
    await page.locator('#status:has-text("Signed in as admin")').waitFor();
    expect(await page.evaluate("sessionStorage.getItem('hunze.console.key')")).toBe(ADMIN_KEY);
    expect(await page.evaluate('document.cookie')).toBe('');
    expect(page.url()).toBe(`${hunze.url}/console#keys`);
    expect(requested.some((url) => url.includes(ADMIN_KEY))).toBe(false);
  });

  it('creates a key with models and limits, shows it once, and the key works with the openai SDK', async () => {
    const keysView = view('keys');
    await keysView.getByLabel('Name', { exact: true }).fill('console-made');
    await keysView.getByLabel('Role').selectOption('user');
    await keysView.getByLabel('Account', { exact: true }).fill('team-a');
    await keysView.getByLabel(MODEL, { exact: true }).check();
    await keysView.getByLabel('Requests per minute').fill('100');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.locator('#created-key').waitFor();
    createdKey = await page.locator('#created-key-value').inputValue();
    expect(createdKey).toMatch(/^hz-[A-Za-z0-9_-]{43}$/);
    await screenshot('keys');

    const row = page.locator('#keys-table tbody tr', { hasText: 'console-made' });
    await expect(row.textContent()).resolves.toContain(createdKey.slice(0, 10));
    await expect(row.textContent()).resolves.toContain('100 rpm');
    await expect(row.textContent()).resolves.toContain(MODEL);

    const client = new OpenAI({ apiKey: createdKey, baseURL: hunze.baseURL, maxRetries: 0 });
    const answer = await client.chat.completions.create({
      model: 'qwen',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(answer.model).toBe(MODEL);
    // Restricted to MODEL by the ticked box.
    await expect(client.embeddings.create({ model: EMBED, input: 'x' })).rejects.toMatchObject({
      status: 403,
    });

    await page.getByRole('button', { name: 'Done' }).click();
    await page.locator('#created-key').waitFor({ state: 'hidden' });
    expect(await page.locator('#created-key-value').inputValue()).toBe('');
  });

  it('shows the request in the usage charts by model and by day, and downloads the same data as CSV', async () => {
    await open('usage');
    await page.getByLabel('Group by').selectOption('model');
    const bar = page.locator(`svg[data-chart="requests"] rect[data-group="${MODEL}"]`);
    // The usage writer flushes within a fraction of a second; ask again until the row is in.
    await waitFor(
      async () => {
        await page.getByRole('button', { name: 'Show usage' }).click();
        await page.locator('#status:has-text("Usage updated")').waitFor();
        return (await bar.count()) === 1;
      },
      60_000,
      200,
    );
    expect(await bar.getAttribute('data-value')).toBe('1');
    const tokens = page.locator(`svg[data-chart="tokens"] rect[data-group="${MODEL}"]`);
    expect(Number(await tokens.getAttribute('data-value'))).toBeGreaterThan(0);
    await screenshot('usage-by-model');

    await page.getByLabel('Group by').selectOption('day');
    await page.getByRole('button', { name: 'Show usage' }).click();
    const today = new Date().toISOString().slice(0, 10);
    await page.locator(`svg[data-chart="requests"] rect[data-group="${today}"][data-value="2"]`).waitFor();
    expect(await page.locator('svg[data-chart="requests"] rect').count()).toBe(30);
    await screenshot('usage');

    await page.getByLabel('Group by').selectOption('model');
    const [csv] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    expect(csv.suggestedFilename()).toMatch(/^hunze-usage-model-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
    const lines = (await savedText(csv)).trim().split('\r\n');
    expect(lines[0]).toBe('model,requests,errors,prompt_tokens,completion_tokens,total_tokens,audio_seconds');
    expect(lines.find((line) => line.startsWith(`${MODEL},`))).toMatch(new RegExp(`^${MODEL},1,0,`));
  });

  it('revokes a key after a confirmation dialog, and the key stops working', async () => {
    await open('keys');
    const row = page.locator('#keys-table tbody tr', { hasText: 'console-made' });
    await row.getByRole('button', { name: /^Revoke key console-made/ }).click();
    const dialog = page.locator('#revoke-dialog');
    await dialog.waitFor({ state: 'visible' });
    await page.keyboard.press('Escape'); // cancelling keeps the key
    await dialog.waitFor({ state: 'hidden' });
    expect(await statusWithKey(hunze.baseURL, createdKey)).toBe(200);

    await row.getByRole('button', { name: /^Revoke key console-made/ }).click();
    await page.locator('#revoke-dialog').getByRole('button', { name: 'Revoke key' }).click();
    await page.locator('#status:has-text("revoked")').waitFor();
    expect(await page.locator('#keys-table tbody tr', { hasText: 'console-made' }).count()).toBe(0);
    await page.getByLabel('Show revoked and expired keys').check();
    await expect(row.textContent()).resolves.toContain('revoked');
    await waitFor(async () => (await statusWithKey(hunze.baseURL, createdKey)) === 401, 30_000, 50);
  });

  it('sets account limits', async () => {
    await open('accounts');
    await view('accounts').getByLabel('Account', { exact: true }).fill('team-a');
    await view('accounts').getByLabel('Tokens per month').fill('5000000');
    await page.getByRole('button', { name: 'Save limits' }).click();
    await page.locator('#status:has-text("Limits of account team-a saved")').waitFor();
    const row = page.locator('#accounts-table tbody tr', { hasText: 'team-a' });
    await expect(row.textContent()).resolves.toContain('5,000,000');
    await screenshot('accounts');
  });

  it('signs out, forgetting the key and what was shown', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#signin-key').waitFor();
    expect(await page.evaluate("sessionStorage.getItem('hunze.console.key')")).toBeNull();
    expect(await page.locator('#keys-table tbody tr').count()).toBe(0);
    await page.reload();
    await page.locator('#signin-key').waitFor();
    expect(await view('keys').isHidden()).toBe(true);
    await screenshot('sign-in');
  });

  it('gives the dpo a read-only view: no key or limit controls, and the API refuses a forced create', async () => {
    await page.getByLabel('API key', { exact: true }).fill(dpoKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#who-role:text-is("dpo")').waitFor();
    await open('keys');
    await page.locator('#keys-table tbody tr', { hasText: 'batch-jobs' }).waitFor();
    expect(await page.locator('#create-key-form').isVisible()).toBe(false);
    expect(await page.getByRole('button', { name: /^Revoke/ }).count()).toBe(0);
    await screenshot('keys-dpo');
    await open('accounts');
    expect(await page.locator('#account-limits-form').isVisible()).toBe(false);
    const forced = await page.evaluate(`fetch('/admin/v1/keys', {
      method: 'POST',
      headers: { authorization: 'Bearer ' + sessionStorage.getItem('hunze.console.key'), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'sneaky', role: 'admin' }),
    }).then((r) => r.status)`);
    expect(forced).toBe(403);
  });

  it('lets the dpo download every report in every format, and shows fingerprint, residency and the audit chain', async () => {
    await expect(
      new OpenAI({ apiKey: dpoKey, baseURL: hunze.baseURL, maxRetries: 0 }).models.list(),
    ).rejects.toMatchObject({ status: 403 });
    await expect(
      new OpenAI({
        apiKey: (await hunze.createKey({ name: 'probe' })).key,
        baseURL: hunze.baseURL,
        maxRetries: 0,
      }).chat.completions.create({ model: GUARDED, messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ status: 503, code: 'residency_violation' });
    await open('compliance');
    expect(await page.locator('#config-fingerprint').textContent()).toBe(hunze.config.fingerprint);

    const passed = page.locator('#residency-table tr[data-upstream="gro-a40-1"]');
    await expect(passed.textContent()).resolves.toMatch(/passed.*127\.0\.0\.1/);
    const refused = page.locator('#residency-table tr[data-upstream="gro-l40s-9"]');
    await expect(refused.textContent()).resolves.toMatch(/refused.*outside_networks/);
    await page.locator('#audit-verify:has-text("Chain")').waitFor();
    await expect(page.locator('#audit-verify').textContent()).resolves.toMatch(
      /^Chain intact: \d+ events verified/,
    );

    for (const report of ['dpa', 'tom', 'subprocessors', 'ropa'])
      for (const format of ['pdf', 'html', 'md', 'json']) {
        // Seen here: Chromium drops a tab's downloads that follow each other faster than about ten a second
        // (the eleventh in a row never starts); a person clicks slower than this.
        await page.waitForTimeout(150);
        const [file] = await Promise.all([
          page.waitForEvent('download'),
          page.locator(`button[data-report="${report}.${format}"]`).click(),
        ]);
        expect(file.suggestedFilename()).toMatch(
          new RegExp(`^hunze-${report}-\\d{4}-\\d{2}-\\d{2}\\.${format}$`),
        );
        const bytes = readFileSync(await file.path());
        if (format === 'pdf') expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
        if (format === 'html') expect(bytes.toString('utf8')).toMatch(/^<!doctype html>/i);
        if (format === 'md') expect(bytes.toString('utf8')).toMatch(/^# /);
        if (format === 'json') expect(JSON.parse(bytes.toString('utf8')).schema).toBe('hunze.report/1');
        expect(bytes.toString('latin1')).toContain(format === 'pdf' ? '%%EOF' : hunze.config.fingerprint);
      }

    await page.getByRole('button', { name: 'Show events' }).click();
    await page.locator('#audit-table tbody tr:has-text("report.exported")').first().waitFor();
    const log = (await page.locator('#audit-table tbody').textContent())!;
    for (const action of [
      'config.loaded',
      'key.created',
      'key.revoked',
      'account.limits_set',
      'residency.violation',
      'report.exported',
    ])
      expect(log).toContain(action);
    await screenshot('compliance');
  });

  it('made no request to any other host and tripped no CSP rule or script error', () => {
    const origin = new URL(hunze.url).origin;
    const elsewhere = requested.filter((url) => !url.startsWith('blob:') && new URL(url).origin !== origin);
    expect(elsewhere).toEqual([]);
    expect(requested.length).toBeGreaterThan(20);
    // The one failed load is the dpo's forced key creation (403), on purpose.
    expect(problems).toEqual([
      'Failed to load resource: the server responded with a status of 403 (Forbidden)',
    ]);
  });
});
