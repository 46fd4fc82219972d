// Image generation through a real Hunze, with the official openai SDK as the client and fake FLUX upstreams:
// b64_json as the backend sent it, `url` served from the gateway's memory to the creating account only and
// forgotten after retention.imageMinutes (a fake clock, no waiting), bad input, wrong kind, upstream errors.
import OpenAI from 'openai';
import { Clock } from '../../src/core/clock';
import { IMAGE_SIZES } from '../../src/gateway/images/create-image.dto';
import { ImageStore } from '../../src/gateway/images/image-store';
import { MemoryImageStore } from '../../src/gateway/images/memory-image-store';
import { FakeFlux, PNG_SIGNATURE, solidPng } from '../fakes/fake-flux';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { expectMetered, requestRecords } from '../helpers/metering';

const MODEL = 'black-forest-labs/FLUX.1-schnell';
const SMALL_MODEL = 'flux-one-at-a-time';
const CHAT_MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
type ApiError = InstanceType<typeof OpenAI.APIError>;

describe('POST /v1/images/generations', () => {
  let flux: FakeFlux;
  let single: FakeFlux;
  let hunze: TestApp;
  let teamA: OpenAI;
  let keys: { a: string; a2: string; b: string };
  let recordsBefore = 0;

  beforeAll(async () => {
    flux = await FakeFlux.start({ apiKey: 'flux-secret' });
    single = await FakeFlux.start({ maxImages: 1 });
    hunze = await startTestApp({
      upstreams: [
        { id: 'flux-a', baseUrl: flux.baseUrl, apiKey: 'flux-secret', timeouts: { firstByteMs: 1500 } },
        { id: 'flux-single', baseUrl: single.baseUrl },
      ],
      models: [
        { id: MODEL, aliases: ['flux'], kind: 'image', upstreams: ['flux-a'] },
        { id: SMALL_MODEL, kind: 'image', upstreams: ['flux-single'] },
        { id: CHAT_MODEL, kind: 'chat', upstreams: ['flux-a'] },
      ],
      extraYaml: 'retention: { usageDays: 395, auditDays: 2190, imageMinutes: 1 }\n',
    });
    keys = {
      a: (await hunze.createKey({ name: 'img-a', account: 'team-a' })).key,
      a2: (await hunze.createKey({ name: 'img-a2', account: 'team-a' })).key,
      b: (await hunze.createKey({ name: 'img-b', account: 'team-b' })).key,
    };
    teamA = new OpenAI({ apiKey: keys.a, baseURL: hunze.baseURL, maxRetries: 0 });
  });

  beforeEach(() => {
    recordsBefore = requestRecords(hunze).length;
  });
  afterEach(() => {
    flux.reset();
    single.reset();
    jest.restoreAllMocks();
  });
  afterAll(async () => {
    await hunze.close();
    await Promise.all([flux.close(), single.close()]);
  });

  const fetchImage = (url: string, key?: string) =>
    fetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {} });

  it('returns b64_json images as FLUX made them, sending FLUX only the fields it takes', async () => {
    const prompt = 'a lighthouse on the Wadden Sea at dusk';
    const before = Date.now();
    const answer = await teamA.images.generate({
      model: 'flux',
      prompt,
      n: 2,
      size: '512x512',
      response_format: 'b64_json',
      seed: 7,
      quality: 'hd',
      style: 'natural',
      user: 'team-member-17',
    } as OpenAI.ImageGenerateParamsNonStreaming);
    // Unix seconds of the answer: between the request and its answer, however long that took.
    expect(answer.created).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(answer.created).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(answer.data).toHaveLength(2);
    answer.data!.forEach((image, i) => {
      expect(Object.keys(image)).toEqual(['b64_json']);
      expect(Buffer.from(image.b64_json!, 'base64')).toEqual(solidPng(`${prompt}\u0000${7}\u0000${i}`));
    });
    const sent = flux.requests.at(-1)!;
    expect(sent.body).toEqual({
      model: MODEL,
      prompt,
      n: 2,
      size: '512x512',
      quality: 'hd',
      seed: 7,
      response_format: 'b64_json',
    });
    expect(sent.headers.authorization).toBe('Bearer flux-secret');
    expect(hunze.logLines.join('\n')).not.toContain('lighthouse');
    await expectMetered(hunze, recordsBefore, '/v1/images/generations', {
      model: MODEL,
      upstream: 'flux-a',
      status: 200,
    });
  });

  it('answers url by default: the gateway serves the image from memory to the creating account only', async () => {
    const prompt = 'a windmill in Groningen';
    const answer = await teamA.images.generate({ model: MODEL, prompt, n: 2 });
    expect(flux.requests.at(-1)!.body).toMatchObject({ n: 2, response_format: 'b64_json' });
    expect(flux.requests.at(-1)!.body).not.toHaveProperty('size');
    const urls = answer.data!.map((d) => d.url!);
    for (const [i, url] of urls.entries()) {
      expect(url).toMatch(new RegExp(`^${hunze.url}/v1/images/files/[A-Za-z0-9_-]{43}$`));
      const own = await fetchImage(url, keys.a);
      expect(own.status).toBe(200);
      expect(own.headers.get('content-type')).toBe('image/png');
      expect(own.headers.get('cache-control')).toBe('no-store');
      const bytes = Buffer.from(await own.arrayBuffer());
      expect(bytes.subarray(0, 8)).toEqual(PNG_SIGNATURE);
      expect(bytes).toEqual(solidPng(`${prompt}\u0000\u0000${i}`));
      // another key of the same account may fetch it
      expect((await fetchImage(url, keys.a2)).status).toBe(200);
    }
    // another account gets exactly what an unknown id gets: no hint that the image exists
    const other = await fetchImage(urls[0]!, keys.b);
    const unknown = await fetchImage(`${hunze.url}/v1/images/files/${'A'.repeat(43)}`, keys.b);
    expect(other.status).toBe(404);
    expect(unknown.status).toBe(404);
    const otherBody = (await other.json()) as { error: { code: string } };
    expect(otherBody).toEqual(await unknown.json());
    expect(otherBody.error.code).toBe('not_found');
    expect((await fetchImage(urls[0]!)).status).toBe(401);
    expect((await fetchImage(`${hunze.url}/v1/images/files/not-an-id`, keys.a)).status).toBe(404);
    // the capability in the URL never reaches the log: the record names the route pattern
    const id = urls[0]!.split('/').pop()!;
    expect(hunze.logLines.join('\n')).not.toContain(id);
    expect(hunze.logLines.join('\n')).toContain('"endpoint":"/v1/images/files/:id"');
  });

  it('forgets a url image after retention.imageMinutes', async () => {
    const answer = await teamA.images.generate({ model: MODEL, prompt: 'a fleeting sketch' });
    const url = answer.data![0]!.url!;
    expect((await fetchImage(url, keys.a)).status).toBe(200);
    const clock = hunze.app.get(Clock);
    const now = Date.now();
    jest.spyOn(clock, 'now').mockReturnValue(now + 59_000);
    expect((await fetchImage(url, keys.a)).status).toBe(200);
    jest.spyOn(clock, 'now').mockReturnValue(now + 61_000);
    expect((await fetchImage(url, keys.a)).status).toBe(404);
    // gone from memory, not just hidden: the sweep drops whatever else has expired
    const store = hunze.app.get(ImageStore);
    if (!(store instanceof MemoryImageStore)) throw new Error('expected the in-process image store');
    store.sweep();
    expect(store.size).toBe(0);
  });

  it('builds the url from the Host the client used and the scheme a TLS proxy reports', async () => {
    const proxied = new OpenAI({
      apiKey: keys.a,
      baseURL: hunze.baseURL,
      maxRetries: 0,
      defaultHeaders: { 'x-forwarded-proto': 'https' },
    });
    const answer = await proxied.images.generate({ model: MODEL, prompt: 'behind haproxy' });
    expect(answer.data![0]!.url).toMatch(new RegExp(`^https://${new URL(hunze.url).host}/v1/images/files/`));
  });

  it('takes every size the image models document, and any other within the backend bounds, passing it on', async () => {
    for (const size of [...IMAGE_SIZES, '1152x896', '2048x256']) {
      const answer = await teamA.images.generate({
        model: MODEL,
        prompt: 'a dike',
        size,
        response_format: 'b64_json',
      } as OpenAI.ImageGenerateParamsNonStreaming);
      expect(answer.data).toHaveLength(1);
      expect(flux.requests.at(-1)!.body).toMatchObject({ size });
    }
  });

  it.each([
    ['n above 4', { n: 5 }, 'n'],
    ['n of 0', { n: 0 }, 'n'],
    ['a side that is not a multiple of 16', { size: '1000x1000' }, 'size'],
    ['a side below 256', { size: '128x128' }, 'size'],
    ['a side above 2048', { size: '4096x1024' }, 'size'],
    ['a size with a leading zero', { size: '0512x512' }, 'size'],
    ['a size that is not a size', { size: 'huge' }, 'size'],
    ['an empty prompt', { prompt: '' }, 'prompt'],
    ['a missing prompt', { prompt: undefined }, 'prompt'],
    ['a prompt over 32,000 characters', { prompt: 'x'.repeat(32_001) }, 'prompt'],
    ['an unknown response_format', { response_format: 'gif' }, 'response_format'],
    ['an output_format FLUX does not produce', { output_format: 'jpeg' }, 'output_format'],
    ['stream', { stream: true }, 'stream'],
    ['a missing model', { model: undefined }, 'model'],
  ] as const)('refuses %s with a 400 naming the field, never its content', async (_name, change, param) => {
    const canary = `canary-img-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const params = { model: MODEL, prompt: `draw ${canary}`, user: canary, ...change };
    const error = (await teamA.images
      .generate(params as OpenAI.ImageGenerateParamsNonStreaming)
      .catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.status).toBe(400);
    expect(error.error).toMatchObject({
      type: 'invalid_request_error',
      code: 'invalid_request_error',
      param,
    });
    expect(JSON.stringify(error.error)).not.toContain(canary);
    expect(hunze.logLines.join('\n')).not.toContain(canary);
    expect(flux.requests).toHaveLength(0);
  });

  it('refuses a chat model (400 wrong_model_kind) and an unknown one (404)', async () => {
    const wrong = (await teamA.images
      .generate({ model: CHAT_MODEL, prompt: 'x' })
      .catch((e: unknown) => e)) as ApiError;
    expect(wrong.status).toBe(400);
    expect(wrong.code).toBe('wrong_model_kind');
    const unknown = (await teamA.images
      .generate({ model: 'dall-e-3', prompt: 'x' })
      .catch((e: unknown) => e)) as ApiError;
    expect(unknown.status).toBe(404);
    expect(unknown.code).toBe('model_not_found');
  });

  it.each([
    ['error', 502, 'upstream_error'],
    ['reset', 502, 'upstream_connection_failed'],
    ['hang', 504, 'upstream_timeout'],
  ] as const)('maps a FLUX failure (%s) to %i %s', async (mode, status, code) => {
    flux.mode = mode;
    const canary = `canary-flux-${mode}-${Date.now()}`;
    const error = (await teamA.images
      .generate({ model: MODEL, prompt: canary })
      .catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(status);
    expect(error.code).toBe(code);
    expect(JSON.stringify(error.error)).not.toContain(canary);
    expect(JSON.stringify(error.error)).not.toContain('CUDA');
    await expectMetered(hunze, recordsBefore, '/v1/images/generations', { errorCode: code, status });
    expect(hunze.logLines.join('\n')).not.toContain(canary);
  });

  it("maps FLUX's own 422 validation error to 400 upstream_rejected without its text", async () => {
    const canary = `canary-422-${Date.now()}`;
    const error = (await teamA.images
      .generate({ model: SMALL_MODEL, prompt: canary, n: 2 })
      .catch((e: unknown) => e)) as ApiError;
    expect(single.requests).toHaveLength(1);
    expect(error.status).toBe(400);
    expect(error.code).toBe('upstream_rejected');
    expect(JSON.stringify(error.error)).not.toContain('Input should be');
  });
});
