// https upstreams through the residency connector, against a fake vLLM speaking real TLS with a certificate
// from a CA this test creates: the CA named in tls.ca and the name in tls.serverName are what is checked,
// for requests and health probes alike. A wrong CA or a wrong name fails the handshake, so not one byte of
// the request reaches the upstream; plain http upstreams keep working beside them.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { FakeVllm } from '../fakes/fake-vllm';
import { adminCall } from '../helpers/admin-api';
import { UPSTREAM_NAME, upstreamPki, type UpstreamPki } from '../helpers/certificates';
import { PROCESS_TEST_MS, runCli } from '../helpers/cli';
import { ADMIN_KEY, configYaml, startTestApp, waitFor, type TestApp } from '../helpers/test-app';

const TLS_MODEL = 'tls-model';
const PLAIN_MODEL = 'plain-model';
/** A loaded machine's TLS handshake must fit in the connect timeout; the breaker must not hide the cause. */
const patient = { timeouts: { connectMs: 30_000 }, circuitBreaker: { failures: 100, openSeconds: 60 } };

let dir: string;
let pki: UpstreamPki;
let tlsFake: FakeVllm; // serves the model over TLS
let refusingFake: FakeVllm; // the same certificate; reached only with a wrong CA or a wrong name
let plainFake: FakeVllm;
let hunze: TestApp;
let client: OpenAI;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hunze-upstream-tls-'));
  pki = upstreamPki(dir);
  tlsFake = await FakeVllm.start({ modelName: TLS_MODEL, tls: pki.server });
  refusingFake = await FakeVllm.start({ modelName: 'never-reached', tls: pki.server });
  plainFake = await FakeVllm.start({ modelName: PLAIN_MODEL });
  const probed = { healthCheck: { intervalSeconds: 1, timeoutMs: 30_000 } };
  hunze = await startTestApp({
    upstreams: [
      {
        id: 'gpu-tls',
        baseUrl: tlsFake.baseUrl, // https://127.0.0.1:<port>/v1, verified as upstream.test
        tls: { ca: pki.ca.certFile, serverName: UPSTREAM_NAME },
        ...patient,
        ...probed,
      },
      {
        id: 'gpu-wrong-ca',
        baseUrl: refusingFake.baseUrl,
        tls: { ca: pki.otherCa.certFile, serverName: UPSTREAM_NAME },
        ...patient,
        ...probed,
      },
      {
        id: 'gpu-wrong-name',
        baseUrl: refusingFake.baseUrl,
        tls: { ca: pki.ca.certFile, serverName: 'other.test' },
        ...patient,
      },
      { id: 'gpu-plain', baseUrl: plainFake.baseUrl },
    ],
    models: [
      { id: TLS_MODEL, upstreams: ['gpu-tls'] },
      { id: 'wrong-ca', upstreams: ['gpu-wrong-ca'] },
      { id: 'wrong-name', upstreams: ['gpu-wrong-name'] },
      { id: PLAIN_MODEL, upstreams: ['gpu-plain'] },
    ],
  });
  client = new OpenAI({ apiKey: (await hunze.createKey()).key, baseURL: hunze.baseURL, maxRetries: 0 });
});

afterAll(async () => {
  await hunze?.close();
  await Promise.all([tlsFake, refusingFake, plainFake].map((f) => f?.close()));
  rmSync(dir, { recursive: true, force: true });
});

const ask = (model: string) => ({ model, messages: [{ role: 'user' as const, content: 'Hallo Groningen' }] });

/** The SDK's error for a request that must fail. */
async function refusal(model: string, stream: boolean): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    if (stream)
      for await (const chunk of await client.chat.completions.create({ ...ask(model), stream })) void chunk;
    else await client.chat.completions.create(ask(model));
  } catch (err) {
    if (err instanceof OpenAI.APIError) return err;
    throw err;
  }
  throw new Error(`${model}: the request was answered`);
}

// Tests here start CLI processes or appliances of their own (see PROCESS_TEST_MS).
jest.setTimeout(PROCESS_TEST_MS);

describe('https upstreams', () => {
  it('serves chat over TLS verified against the configured CA and server name', async () => {
    const answer = await client.chat.completions.create(ask(TLS_MODEL));
    expect(answer.choices[0]?.message.content).toBe('Hello from the fake vLLM server.');

    let text = '';
    for await (const chunk of await client.chat.completions.create({ ...ask(TLS_MODEL), stream: true }))
      text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Hello from the fake vLLM server.');

    const posts = tlsFake.requests.filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.body.stream ?? false)).toEqual([false, true]);
    expect(tlsFake.tlsTraffic.handshakes).toBeGreaterThanOrEqual(1);
    expect(tlsFake.tlsTraffic.bytes).toBeGreaterThan(0);
  });

  it.each([
    ['a certificate the configured CA did not sign', 'wrong-ca'],
    ['a certificate without the configured server name', 'wrong-name'],
  ])('refuses %s: 502 before any request byte, streaming or not', async (_what, model) => {
    for (const stream of [false, true]) {
      const err = await refusal(model, stream);
      expect(err.status).toBe(502);
      expect(err.code).toBe('upstream_certificate_refused');
      expect(err.message).not.toContain('Hallo');
    }
    expect(refusingFake.requests).toEqual([]);
    expect(refusingFake.tlsTraffic.bytes).toBe(0);
    const records = hunze.logLines.filter((l) => l.includes('"evt":"request"') && l.includes(`"${model}"`));
    expect(records.some((l) => l.includes('"upstream_certificate_refused"'))).toBe(true);
  });

  it('probes health with the same TLS settings: healthy with the right CA, unhealthy with the wrong one', async () => {
    const health = async () => {
      const res = await adminCall(hunze.url, 'GET', '/upstreams', { key: ADMIN_KEY });
      const byId = new Map(
        (res.body.data as { id: string; health: { healthy: boolean; checked_at: string | null } }[]).map(
          (u) => [u.id, u.health],
        ),
      );
      return { good: byId.get('gpu-tls')!, bad: byId.get('gpu-wrong-ca')! };
    };
    await waitFor(async () => {
      const { good, bad } = await health();
      return good.checked_at !== null && bad.checked_at !== null && !bad.healthy;
    }, 60_000);
    expect((await health()).good.healthy).toBe(true);
    expect(tlsFake.requests.some((r) => r.method === 'GET' && r.path === '/health')).toBe(true);
    expect(refusingFake.requests).toEqual([]);
  });

  it('keeps serving plain http upstreams', async () => {
    const answer = await client.chat.completions.create(ask(PLAIN_MODEL));
    expect(answer.choices[0]?.message.content).toBe('Hello from the fake vLLM server.');
    expect(plainFake.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });
});

describe('reports from the running configuration', () => {
  it('state TLS to the inference servers as partly in force, naming how each upstream is reached', async () => {
    const response = await fetch(`${hunze.url}/admin/v1/reports/tom?format=md`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(response.status).toBe(200);
    const tom = await response.text();
    expect(tom).toMatch(
      /\| Encryption of connections to the inference servers \| Transmission control \| Partly in force \|/,
    );
    expect(tom).toContain('3 of 4 upstreams reached over TLS');
    expect(tom).toContain('gpu-tls: https, certificate verified against the CA in');
    expect(tom).toContain('gpu-plain: plain HTTP, not encrypted');
  });
});

describe('hunze config check with upstream TLS', () => {
  it('names a missing, unreadable or invalid CA file and tls on an http upstream', async () => {
    const garbage = join(dir, 'garbage.pem');
    writeFileSync(
      garbage,
      '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
    );
    const notPem = join(dir, 'not-pem.txt');
    writeFileSync(notPem, 'just text\n');
    const directory = join(dir, 'a-directory.pem');
    mkdirSync(directory);
    const https = 'https://127.0.0.1:9/v1';
    const config = join(dir, 'hunze.yaml');
    writeFileSync(
      config,
      configYaml({
        upstreams: [
          { id: 'good', baseUrl: https, tls: { ca: pki.ca.certFile } },
          { id: 'missing', baseUrl: https, tls: { ca: join(dir, 'missing.pem') } },
          { id: 'garbage', baseUrl: https, tls: { ca: garbage } },
          { id: 'not-pem', baseUrl: https, tls: { ca: notPem } },
          { id: 'directory', baseUrl: https, tls: { ca: directory } },
          { id: 'plain', baseUrl: 'http://127.0.0.1:9/v1', tls: { serverName: UPSTREAM_NAME } },
        ],
        models: [{ id: 'm', upstreams: ['good'] }],
      }),
    );
    const result = await runCli(['config', 'check'], { HUNZE_CONFIG: config });
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      `upstreams[1].tls.ca: ${join(dir, 'missing.pem')}: cannot read (ENOENT)`,
      `upstreams[2].tls.ca: ${garbage}: certificate 1 is not a valid X.509 certificate`,
      `upstreams[3].tls.ca: ${notPem}: holds no PEM certificate`,
      `upstreams[4].tls.ca: ${directory}: cannot read (EISDIR)`,
      'upstreams[5].tls: set for an http base URL; use https or remove tls',
    ]);
  });
});
