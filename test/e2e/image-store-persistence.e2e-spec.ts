// url images live in memory only: with redis.url set they go to Redis only if that Redis keeps nothing on
// disk. Hunze asks Redis (CONFIG GET save / appendonly) before the first image of each connection; a Redis
// that writes an append-only file, or one that will not say (CONFIG renamed away, as managed Redis does), is
// given no image: the client gets 503 image_store_unavailable and the operator a log line naming why.
// b64_json images never reach Redis and are served as before.
import OpenAI from 'openai';
import { FakeFlux } from '../fakes/fake-flux';
import { expectOpenAiError } from '../helpers/admin-api';
import { ThrowawayRedis, type ThrowawayRedisOptions } from '../helpers/throwaway-redis';
import { startTestApp, waitFor, type TestApp } from '../helpers/test-app';

const IMAGE_MODEL = 'black-forest-labs/FLUX.1-schnell';
const DEADLINE_MS = 60_000;

describe.each<[string, ThrowawayRedisOptions, string]>([
  ['writes an append-only file', { appendOnly: true }, 'image_store_persists_to_disk'],
  [
    'will not say whether it writes to disk',
    { withoutConfigCommand: true },
    'image_store_persistence_unknown',
  ],
])('url images with a Redis that %s', (_what, options, evt) => {
  let flux: FakeFlux;
  let redis: ThrowawayRedis;
  let hunze: TestApp;
  let client: OpenAI;

  beforeAll(async () => {
    flux = await FakeFlux.start();
    redis = await ThrowawayRedis.start(options);
    hunze = await startTestApp({
      upstreams: [{ id: 'flux-a', baseUrl: flux.baseUrl }],
      models: [{ id: IMAGE_MODEL, kind: 'image', upstreams: ['flux-a'] }],
      redisUrl: redis.url,
    });
    client = new OpenAI({ baseURL: hunze.baseURL, apiKey: (await hunze.createKey()).key, maxRetries: 0 });
  });
  afterAll(async () => {
    await hunze?.close();
    await redis?.close();
    await flux?.close();
  });

  it('answers 503 image_store_unavailable, stores nothing and logs why', async () => {
    const res = await fetch(`${hunze.baseURL}/images/generations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: IMAGE_MODEL, prompt: 'kept nowhere', response_format: 'url' }),
    });
    expect(res.status).toBe(503);
    expectOpenAiError(await res.json(), 'image_store_unavailable');
    await waitFor(
      async () => hunze.logLines.some((line) => line.includes(`"evt":"${evt}"`)),
      DEADLINE_MS,
      50,
    );
    const direct = redis.client();
    try {
      expect(await direct.keys('hunze:image:*')).toEqual([]);
    } finally {
      direct.disconnect();
    }
  });

  it('still serves b64_json images, which never reach Redis', async () => {
    const answer = await client.images.generate({
      model: IMAGE_MODEL,
      prompt: 'inline',
      response_format: 'b64_json',
    });
    expect(answer.data![0]!.b64_json).toBeTruthy();
  });
});
