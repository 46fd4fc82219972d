// GET /admin/v1/upstreams through a real Hunze: every configured upstream with its location, operator,
// networks and models, who may read it, and the latest residency check of a new connection (none yet, then
// passed for an upstream inside its networks and refused for one outside), plus its health probe.
import OpenAI from 'openai';
import { FakeVllm } from '../fakes/fake-vllm';
import { adminCall, expectOpenAiError } from '../helpers/admin-api';
import { ADMIN_KEY, startTestApp, waitFor, type TestApp } from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const GUARDED = 'guarded-model';
const UPSTREAM_SECRET = 'sk-upstream-secret-never-shown-4711';

describe('GET /admin/v1/upstreams', () => {
  let upstream: FakeVllm;
  let hunze: TestApp;
  let dpoKey: string;
  let userKey: string;
  const list = (key: string) => adminCall(hunze.url, 'GET', '/upstreams', { key });
  const chat = (model: string) =>
    new OpenAI({ apiKey: userKey, baseURL: hunze.baseURL, maxRetries: 0 }).chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'hi' }],
    });

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: MODEL });
    hunze = await startTestApp({
      upstreams: [
        { id: 'vllm-a', baseUrl: upstream.baseUrl, apiKey: UPSTREAM_SECRET },
        // Declared in a network the fake (on 127.0.0.1) is not in: every connection is refused.
        { id: 'outside', baseUrl: upstream.baseUrl, networks: ['10.20.0.0/24'] },
        { id: 'probed', baseUrl: upstream.baseUrl, healthCheck: { intervalSeconds: 1, path: '/health' } },
      ],
      models: [
        { id: MODEL, upstreams: ['vllm-a'] },
        { id: GUARDED, upstreams: ['outside'] },
        { id: 'e5', kind: 'embedding', upstreams: ['vllm-a'] },
        { id: 'probed-model', upstreams: ['probed'] },
      ],
    });
    dpoKey = (await hunze.createKey({ name: 'dpo', role: 'dpo' })).key;
    userKey = (await hunze.createKey({ name: 'user', role: 'user' })).key;
  });

  afterAll(async () => {
    await hunze?.close();
    await upstream?.close();
  });

  it('lists every upstream from the configuration, unchecked before any connection, for admin and dpo', async () => {
    const res = await list(ADMIN_KEY);
    expect(res.status).toBe(200);
    expect(res.body.object).toBe('list');
    expect(res.body.data).toEqual([
      {
        object: 'upstream',
        id: 'vllm-a',
        models: [MODEL, 'e5'],
        kinds: ['chat', 'embedding'],
        location: { country: 'NL', city: 'Groningen', site: 'Test DC' },
        operator: { name: 'Test Hosting B.V.', country: 'NL', address: null },
        networks: ['127.0.0.0/8'],
        hardware: null,
        available: true,
        circuit: 'closed',
        health: { healthy: true, checked_at: null },
        residency: { status: 'unchecked', checked_at: null, address: null, reason: null },
      },
      expect.objectContaining({
        id: 'outside',
        models: [GUARDED],
        networks: ['10.20.0.0/24'],
        residency: { status: 'unchecked', checked_at: null, address: null, reason: null },
      }),
      expect.objectContaining({ id: 'probed', models: ['probed-model'] }),
    ]);
    expect(res.text).not.toContain(UPSTREAM_SECRET);
    // The same for the dpo (the probed upstream's state moves on its own).
    const forDpo = await list(dpoKey);
    expect(forDpo.status).toBe(200);
    expect(forDpo.body.data.slice(0, 2)).toEqual(res.body.data.slice(0, 2));
  });

  it('refuses user keys and requests without a key', async () => {
    const user = await list(userKey);
    expect(user.status).toBe(403);
    expectOpenAiError(user.body, 'permission_denied');
    const anonymous = await adminCall(hunze.url, 'GET', '/upstreams', { header: undefined });
    expect(anonymous.status).toBe(401);
    expectOpenAiError(anonymous.body, 'invalid_api_key');
  });

  it('shows the latest residency check: passed inside the networks, refused outside, with time and reason', async () => {
    const before = Date.now();
    await expect(chat(MODEL)).resolves.toBeDefined();
    await expect(chat(GUARDED)).rejects.toMatchObject({ status: 503, code: 'residency_violation' });
    const after = Date.now();

    const res = await list(dpoKey);
    const byId = new Map((res.body.data as { id: string }[]).map((u) => [u.id, u as any]));
    const passed = byId.get('vllm-a').residency;
    expect(passed).toEqual({
      status: 'passed',
      checked_at: expect.any(String),
      address: '127.0.0.1',
      reason: null,
    });
    const refused = byId.get('outside').residency;
    expect(refused).toEqual({
      status: 'refused',
      checked_at: expect.any(String),
      address: '127.0.0.1',
      reason: 'outside_networks',
    });
    for (const at of [passed.checked_at, refused.checked_at]) {
      expect(Date.parse(at)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(at)).toBeLessThanOrEqual(after);
    }
  });

  it('reports the health probe: healthy or not, and when it ran', async () => {
    const probed = async () => ((await list(ADMIN_KEY)).body.data as any[]).find((u) => u.id === 'probed');
    await waitFor(async () => (await probed()).health.checked_at !== null, 30_000, 100);
    const status = await probed();
    expect(status.health).toEqual({ healthy: true, checked_at: expect.any(String) });
    // The probe opened a connection, so it was checked too.
    expect(status.residency).toMatchObject({ status: 'passed', address: '127.0.0.1' });
    expect(status.available).toBe(true);
  });
});
