// GET /v1/models and /v1/models/{id} through the official openai SDK: configured ids, aliases resolving to
// the canonical id, ids with slashes, per-key model restrictions, and OpenAI-shaped 401/404s.
import OpenAI from 'openai';
import { FakeVllm } from '../fakes/fake-vllm';
import { GENERATED_REQUEST_ID, openAiErrorOf, send } from '../helpers/raw-http';
import { startTestApp, type TestApp } from '../helpers/test-app';

const QWEN = 'Qwen/Qwen3.6-35B-A3B-FP8';
const LLAMA = 'meta-llama/Llama-3.3-70B-Instruct';
const BGE = 'BAAI/bge-m3';

type ApiError = InstanceType<typeof OpenAI.APIError>;

describe('GET /v1/models', () => {
  let upstream: FakeVllm;
  let hunze: TestApp;
  let client: OpenAI;
  let restricted: OpenAI;

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: QWEN });
    hunze = await startTestApp({
      upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
      models: [
        { id: QWEN, aliases: ['qwen', 'qwen-fast'], upstreams: ['vllm-a'] },
        { id: LLAMA, aliases: ['llama'], upstreams: ['vllm-a'] },
        { id: BGE, aliases: ['bge'], kind: 'embedding', upstreams: ['vllm-a'] },
      ],
    });
    const sdk = (apiKey: string) => new OpenAI({ apiKey, baseURL: hunze.baseURL, maxRetries: 0 });
    client = sdk((await hunze.createKey({ name: 'all-models' })).key);
    // Allow-lists may name an alias: 'bge' grants BAAI/bge-m3.
    restricted = sdk((await hunze.createKey({ name: 'two-models', models: [QWEN, 'bge'] })).key);
  });

  afterAll(async () => {
    await hunze.close();
    await upstream.close();
  });

  it('lists every configured model as an OpenAI model object', async () => {
    const page = await client.models.list();
    expect(page.data.map((m) => m.id)).toEqual([QWEN, LLAMA, BGE]);
    for (const model of page.data) {
      expect(model).toMatchObject({
        object: 'model',
        owned_by: expect.any(String),
        created: expect.any(Number),
      });
    }
    expect(page.data[0]).toMatchObject({ kind: 'chat', aliases: ['qwen', 'qwen-fast'] });
    expect(page.data[2]).toMatchObject({ kind: 'embedding' });
  });

  it('lists only the models a restricted key may use', async () => {
    const page = await restricted.models.list();
    expect(page.data.map((m) => m.id)).toEqual([QWEN, BGE]);
  });

  it.each([
    ['the canonical id with a slash', QWEN, QWEN],
    ['an alias', 'qwen-fast', QWEN],
    ['another model by alias', 'llama', LLAMA],
  ])('retrieves a model by %s', async (_how, name, id) => {
    const { data, response } = await client.models.retrieve(name).withResponse();
    expect(data).toMatchObject({ id, object: 'model' });
    expect(response.headers.get('x-request-id')).toMatch(GENERATED_REQUEST_ID);
  });

  it('accepts the slash in an id unencoded, as curl users write it', async () => {
    const res = await send(`${hunze.url}/v1/models/${QWEN}`, {
      method: 'GET',
      headers: { authorization: `Bearer ${(await hunze.createKey()).key}` },
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ id: QWEN, object: 'model' });
  });

  it.each([
    ['an unknown model', 'no-such/model'],
    ['a name holding a percent sign', '100%'],
    ['an empty-looking name', ' '],
  ])('answers 404 model_not_found for %s', async (_what, name) => {
    const error = (await client.models.retrieve(name).catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error.error).toEqual({
      message: expect.any(String),
      type: 'invalid_request_error',
      param: 'model',
      code: 'model_not_found',
    });
    expect(error.headers?.get('x-request-id')).toMatch(GENERATED_REQUEST_ID);
  });

  it('answers 404 for a model the key may not use, as if it did not exist', async () => {
    const error = (await restricted.models.retrieve('llama').catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error.code).toBe('model_not_found');
    await expect(restricted.models.retrieve('qwen')).resolves.toMatchObject({ id: QWEN });
  });

  it.each([
    ['no key', {}],
    ['a wrong key', { authorization: 'Bearer sk-not-a-hunze-key' }],
    ['a malformed Authorization header', { authorization: 'Basic dXNlcjpwYXNz' }],
  ])('answers 401 invalid_api_key for %s', async (_what, headers: Record<string, string>) => {
    for (const path of ['/v1/models', `/v1/models/${encodeURIComponent(QWEN)}`]) {
      const res = await send(`${hunze.url}${path}`, { method: 'GET', headers });
      expect(res.status).toBe(401);
      expect(openAiErrorOf(res)).toMatchObject({ code: 'invalid_api_key', type: 'invalid_request_error' });
      expect(res.headers['x-request-id']).toMatch(GENERATED_REQUEST_ID);
    }
  });

  it('answers 401 to the SDK without a valid key', async () => {
    const anonymous = new OpenAI({ apiKey: 'sk-wrong', baseURL: hunze.baseURL, maxRetries: 0 });
    const error = (await anonymous.models.list().catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error.code).toBe('invalid_api_key');
  });
});
