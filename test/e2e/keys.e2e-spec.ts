// API keys through a real Hunze: the admin API (POST/GET/DELETE /admin/v1/keys), roles, and what a key may
// do on /v1 (allowed models, expiry, revocation), with the openai SDK as the /v1 client.
import { createHash } from 'node:crypto';
import { ModulesContainer } from '@nestjs/core';
import OpenAI from 'openai';
import { DataSource } from 'typeorm';
import { KeyAuthenticator } from '../../src/auth/key-authenticator';
import { KeyCache } from '../../src/auth/key-cache.service';
import { KeyChangeBus } from '../../src/auth/key-changes/key-change-bus';
import { FakeVllm } from '../fakes/fake-vllm';
import { adminCall, expectOpenAiError, statusWithKey } from '../helpers/admin-api';
import { ADMIN_KEY, startTestApp, type TestApp } from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const OTHER_MODEL = 'google/gemma-4-31B-it';
const KEY_SHAPE = /^hz-[A-Za-z0-9_-]{43}$/;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('API keys', () => {
  let upstream: FakeVllm;
  let hunze: TestApp;
  const keys = (method: 'GET' | 'POST' | 'DELETE', path: string, key: string, body?: unknown) =>
    adminCall(hunze.url, method, `/keys${path}`, { key }, body);
  /** Creates a key with the break-glass admin key; returns the create response. */
  const create = async (body: Record<string, unknown>) => {
    const res = await keys('POST', '', ADMIN_KEY, body);
    expect(res.status).toBe(201);
    return res.body as { id: string; key: string; [field: string]: unknown };
  };
  const chat = (key: string, model: string) =>
    new OpenAI({ apiKey: key, baseURL: hunze.baseURL, maxRetries: 0 }).chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'hi' }],
    });

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: MODEL });
    hunze = await startTestApp({
      upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
      models: [
        { id: MODEL, aliases: ['qwen', 'qwen-fast'], upstreams: ['vllm-a'] },
        { id: OTHER_MODEL, aliases: ['gemma'], upstreams: ['vllm-a'] },
      ],
    });
  });

  afterAll(async () => {
    await hunze.close();
    await upstream.close();
  });

  it('has one key cache, key-change bus and authenticator, whichever modules import AuthModule', () => {
    const modules = [...hunze.app.get(ModulesContainer).values()];
    const importers = modules.filter((m) => [...m.imports].some((i) => i.name === 'AuthModule'));
    expect(importers.map((m) => m.name)).toEqual(
      expect.arrayContaining(['MeteringModule', 'ReportsModule', 'HttpModule', 'AuthHttpModule']),
    );
    for (const token of [KeyCache, KeyChangeBus, KeyAuthenticator]) {
      const hosts = modules.filter((m) => m.providers.has(token));
      expect(hosts.map((m) => m.name)).toEqual(['AuthModule']);
      expect(hosts[0]!.providers.get(token)!.instance).toBe(hunze.app.get(token));
    }
  });

  describe('admin API', () => {
    it('creates a 256-bit hz- key, shows it once, and stores only its SHA-256', async () => {
      const created = await create({ name: 'shown-once', role: 'user', account: 'team-a', rpm: 60 });
      expect(created.key).toMatch(KEY_SHAPE);
      expect(Buffer.from(created.key.slice(3), 'base64url')).toHaveLength(32);
      expect(created).toMatchObject({
        object: 'api_key',
        name: 'shown-once',
        role: 'user',
        account: 'team-a',
      });
      expect(created.key.startsWith(created.prefix as string)).toBe(true);
      expect((await create({ name: 'another' })).key).not.toBe(created.key);

      const list = await keys('GET', '', ADMIN_KEY);
      expect(list.status).toBe(200);
      const listed = (list.body.data as { id: string }[]).find((k) => k.id === created.id);
      expect(listed).toMatchObject({ name: 'shown-once', prefix: created.prefix, revoked_at: null });
      expect(listed).not.toHaveProperty('key');
      expect(list.text).not.toContain(created.key);
      expect(list.text).not.toContain(sha256(created.key));

      const rows: Record<string, unknown>[] = await hunze.app
        .get(DataSource)
        .query('SELECT * FROM api_keys WHERE id = $1', [created.id]);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.key_hash).toBe(sha256(created.key));
      // Nothing beyond the display prefix of the secret is stored anywhere in the row.
      expect(JSON.stringify(rows[0])).not.toContain(created.key.slice(10));
    });

    it('lets an admin-role key create, list and revoke keys', async () => {
      const { key: adminKey } = await create({ name: 'ops', role: 'admin' });
      const made = await keys('POST', '', adminKey, { name: 'made-by-admin-key' });
      expect(made.status).toBe(201);
      expect(made.body.key).toMatch(KEY_SHAPE);
      const list = await keys('GET', '', adminKey);
      expect(list.body.data.map((k: { id: string }) => k.id)).toContain(made.body.id);
      const revoked = await keys('DELETE', `/${made.body.id}`, adminKey);
      expect(revoked.status).toBe(200);
      expect(revoked.body.revoked_at).toEqual(expect.any(String));
      expect(revoked.body).not.toHaveProperty('key');
    });

    it('lets a dpo key read the list but not create or revoke; a user key gets nothing', async () => {
      const target = await create({ name: 'target' });
      const { key: dpo } = await create({ name: 'dpo', role: 'dpo' });
      const { key: user } = await create({ name: 'user', role: 'user' });
      expect((await keys('GET', '', dpo)).status).toBe(200);
      for (const [key, method, path] of [
        [dpo, 'POST', ''],
        [dpo, 'DELETE', `/${target.id}`],
        [user, 'GET', ''],
        [user, 'POST', ''],
        [user, 'DELETE', `/${target.id}`],
      ] as const) {
        const res = await keys(method, path, key, method === 'POST' ? { name: 'nope' } : undefined);
        expect(res.status).toBe(403);
        expectOpenAiError(res.body, 'permission_denied');
      }
      expect(await statusWithKey(hunze.baseURL, target.key)).toBe(200); // still not revoked
    });

    it.each([
      ['no Authorization header', undefined],
      ['a garbage key', 'Bearer hz-not-a-real-key'],
      ['a key without "Bearer"', ADMIN_KEY],
      ['another scheme', `Basic ${Buffer.from(`x:${ADMIN_KEY}`).toString('base64')}`],
      ['an empty bearer', 'Bearer '],
    ])('refuses %s with 401 invalid_api_key', async (_, header) => {
      const res = await adminCall(hunze.url, 'GET', '/keys', { header });
      expect(res.status).toBe(401);
      expectOpenAiError(res.body, 'invalid_api_key');
      expect(res.text).not.toContain(ADMIN_KEY);
    });

    it.each([
      ['a missing name', { role: 'user' }, 'name'],
      ['an empty name', { name: '' }, 'name'],
      ['an unknown role', { name: 'x', role: 'root' }, 'role'],
      ['an expiry in the past', { name: 'x', expires_at: '2020-01-01T00:00:00Z' }, 'expires_at'],
      ['an expiry that is not ISO 8601', { name: 'x', expires_at: 'tomorrow' }, 'expires_at'],
      ['a non-integer rpm', { name: 'x', rpm: 1.5 }, 'rpm'],
      // An unknown field's name is the client's text: the error names the object holding it instead.
      ['an unknown field', { name: 'x', superuser: true }, 'body'],
    ])('rejects a create body with %s as 400 naming the field', async (_, body, param) => {
      const res = await keys('POST', '', ADMIN_KEY, body);
      expect(res.status).toBe(400);
      expectOpenAiError(res.body, 'invalid_request_error', param);
    });

    it('rejects an unknown model in `models` as 404 model_not_found naming the entry', async () => {
      const res = await keys('POST', '', ADMIN_KEY, { name: 'x', models: ['qwen', 'no-such-model'] });
      expect(res.status).toBe(404);
      expectOpenAiError(res.body, 'model_not_found', 'models[1]');
    });

    it('answers 404 for revoking an unknown id, well-formed or not', async () => {
      for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
        const res = await keys('DELETE', `/${id}`, ADMIN_KEY);
        expect(res.status).toBe(404);
        expectOpenAiError(res.body, 'not_found');
      }
    });
  });

  describe('on /v1', () => {
    it('limits a key to its allowed models, by id or alias', async () => {
      const { key } = await create({ name: 'qwen-only', models: ['qwen'] });
      for (const model of [MODEL, 'qwen', 'qwen-fast']) {
        const completion = await chat(key, model);
        expect(completion.model).toBe(MODEL);
      }
      for (const model of [OTHER_MODEL, 'gemma']) {
        const error = await chat(key, model).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(OpenAI.APIError);
        expect(error).toMatchObject({ status: 403, code: 'model_not_allowed', param: 'model' });
      }
      const listed = await new OpenAI({ apiKey: key, baseURL: hunze.baseURL }).models.list();
      expect(listed.data.map((m) => m.id)).toEqual([MODEL]);
    });

    it('refuses a key once it has expired', async () => {
      // Accepted while it lives: a longer life only when a loaded machine took the first one to answer.
      let key: string | undefined;
      let expiresAt = 0;
      for (const lifeMs of [1500, 10_000, 60_000]) {
        expiresAt = Date.now() + lifeMs;
        const created = await create({ name: 'short-lived', expires_at: new Date(expiresAt).toISOString() });
        const status = await statusWithKey(hunze.baseURL, created.key);
        if (Date.now() >= expiresAt) continue; // answered after the expiry: proves nothing either way
        expect(status).toBe(200);
        key = created.key;
        break;
      }
      expect(key).toBeDefined();
      await new Promise((r) => setTimeout(r, expiresAt - Date.now() + 50));
      const error = await chat(key!, MODEL).catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 401, code: 'invalid_api_key' });
    });

    it('refuses a revoked key on the very next request, and revoking again is harmless', async () => {
      const { id, key } = await create({ name: 'to-revoke' });
      expect((await chat(key, 'qwen')).model).toBe(MODEL);
      expect((await keys('DELETE', `/${id}`, ADMIN_KEY)).status).toBe(200);
      const error = await chat(key, 'qwen').catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 401, code: 'invalid_api_key' });
      const again = await keys('DELETE', `/${id}`, ADMIN_KEY);
      expect(again.status).toBe(200);
      expect(again.body.revoked_at).toEqual(expect.any(String));
      expect(await statusWithKey(hunze.baseURL, key)).toBe(401);
    });

    it('keeps a dpo key off the /v1 endpoints', async () => {
      const { key } = await create({ name: 'dpo-on-v1', role: 'dpo' });
      const error = await chat(key, MODEL).catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 403, code: 'permission_denied' });
    });
  });
});
