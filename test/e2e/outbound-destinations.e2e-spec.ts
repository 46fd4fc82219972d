// Every socket the appliance opens passed the residency guard first (docs/architecture.md lists them).
// test/helpers/socket-recorder.ts wraps net.Socket's connect in this process and pairs each connect with a
// guard's announcement for that exact address and port. The appliance is taken through its paths: boot
// (PostgreSQL pool and its LISTEN connection for key changes, or PGlite; Redis for rate limits, images and,
// on PostgreSQL, key changes), every endpoint kind against the fakes, active health checks, OTLP export, a
// media fetch, shutdown; on PostgreSQL also a second appliance without Redis. A new kind of outbound connection without the guard fails
// here, as the first test shows with a socket the test opens itself.
import 'reflect-metadata';
import net from 'node:net';
import { FakeFlux } from '../fakes/fake-flux';
import { FakeMediaServer } from '../fakes/fake-media-server';
import { FakeOtlpCollector } from '../fakes/fake-otlp-collector';
import { FakeTei } from '../fakes/fake-tei';
import { FakeVllm } from '../fakes/fake-vllm';
import { FakeWhisperx } from '../fakes/fake-whisperx';
import { SocketRecorder } from '../helpers/socket-recorder';
import {
  freshPostgresDatabase,
  startTestApp,
  usingPostgres,
  waitFor,
  type TestApp,
  type TestAppOptions,
} from '../helpers/test-app';

const CHAT = 'Qwen/Qwen3.6-35B-A3B-FP8';
const EMBED = 'BAAI/bge-m3';
const REDIS_URL = process.env.HUNZE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('every outbound socket passes the residency guard', () => {
  let vllm: FakeVllm;
  let tei: FakeTei;
  let flux: FakeFlux;
  let whisperx: FakeWhisperx;
  let collector: FakeOtlpCollector;
  let media: FakeMediaServer;
  let database: { url: string; drop: () => Promise<void> } | undefined;
  const apps: TestApp[] = [];
  /** The appliance's own listening ports: the test's client connects there, unguarded by design. */
  const appPorts = new Set<number>();
  let recorder: SocketRecorder;

  beforeAll(async () => {
    vllm = await FakeVllm.start({ modelName: CHAT });
    tei = await FakeTei.start({ modelName: EMBED });
    flux = await FakeFlux.start({});
    whisperx = await FakeWhisperx.start({});
    collector = await FakeOtlpCollector.start();
    media = await FakeMediaServer.start('127.0.0.1');
    // The test's own database administration happens before recording starts.
    if (usingPostgres()) database = await freshPostgresDatabase();
  });
  beforeEach(() => {
    recorder = new SocketRecorder(() => appPorts);
  });
  afterEach(async () => {
    recorder.stop();
    for (const app of apps.splice(0)) await app.close();
  });
  afterAll(async () => {
    await database?.drop();
    await Promise.all([vllm, tei, flux, whisperx, collector, media].map((fake) => fake.close()));
  });

  async function start(options: TestAppOptions): Promise<TestApp> {
    const app = await startTestApp(options);
    apps.push(app);
    appPorts.add(Number(new URL(app.url).port));
    return app;
  }

  it('the recorder catches a socket opened without the guard', async () => {
    recorder.start();
    const port = Number(new URL(vllm.baseUrl).port);
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.destroy();
    recorder.stop();
    expect(recorder.unguarded()).toEqual([`127.0.0.1:${port}`]);
  });

  it('boot, every endpoint kind, health checks, OTLP, media, Redis and the database: all checked first', async () => {
    recorder.start();
    const hunze = await start({
      upstreams: [
        { id: 'vllm-a', baseUrl: vllm.baseUrl, healthCheck: { intervalSeconds: 1 } },
        { id: 'tei-a', baseUrl: tei.baseUrl },
        { id: 'flux-a', baseUrl: flux.baseUrl },
        { id: 'whisperx-a', baseUrl: whisperx.baseUrl },
      ],
      models: [
        { id: CHAT, aliases: ['qwen'], upstreams: ['vllm-a'] },
        { id: EMBED, aliases: ['bge'], kind: 'embedding', upstreams: ['tei-a'] },
        { id: 'black-forest-labs/FLUX.1-dev', aliases: ['flux'], kind: 'image', upstreams: ['flux-a'] },
        { id: 'whisperx/large-v3', aliases: ['whisper-1'], kind: 'audio', upstreams: ['whisperx-a'] },
      ],
      redisUrl: REDIS_URL,
      databaseUrl: database?.url,
      extraYaml:
        `telemetry: { otlpEndpoint: "${collector.url}", otlpNetworks: [127.0.0.0/8], otlpIntervalSeconds: 1 }\n` +
        'media: { remoteUrls: fetch, allowedHosts: [127.0.0.1/32] }\n',
    });
    const { key } = await hunze.createKey({ rpm: 1000 });
    const send = async (path: string, body: string | FormData) => {
      const res = await fetch(`${hunze.url}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          ...(typeof body === 'string' ? { 'content-type': 'application/json' } : {}),
        },
        body,
      });
      await res.arrayBuffer();
      return res.status;
    };
    const json = (value: unknown) => JSON.stringify(value);
    const chat = (extra: Record<string, unknown> = {}) =>
      json({ model: 'qwen', messages: [{ role: 'user', content: 'hello' }], ...extra });
    const form = new FormData();
    form.append('model', 'whisper-1');
    form.append('file', new File([Buffer.alloc(1024, 1)], 'a.wav', { type: 'audio/wav' }));
    const image = { type: 'image_url', image_url: { url: `${media.url}/image.png` } };

    expect(await send('/v1/chat/completions', chat())).toBe(200);
    expect(await send('/v1/chat/completions', chat({ stream: true }))).toBe(200);
    expect(await send('/v1/completions', json({ model: 'qwen', prompt: 'hi' }))).toBe(200);
    expect(await send('/v1/embeddings', json({ model: 'bge', input: ['a', 'b'] }))).toBe(200);
    expect(
      await send('/v1/images/generations', json({ model: 'flux', prompt: 'p', response_format: 'b64_json' })),
    ).toBe(200);
    expect(await send('/v1/audio/transcriptions', form)).toBe(200);
    const gemini = json({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
    expect(await send('/v1beta/models/qwen:generateContent', gemini)).toBe(200);
    const withMedia = chat({ messages: [{ role: 'user', content: [{ type: 'text', text: 'see' }, image] }] });
    expect(await send('/v1/chat/completions', withMedia)).toBe(200);
    expect(media.requests).toContain('/image.png');

    // An active health probe and an OTLP export, each waited for.
    await waitFor(async () => vllm.requests.some((r) => r.path === '/health'), 60_000);
    await waitFor(async () => collector.traceBodies.length > 0, 60_000);

    if (database) {
      // Without Redis, key changes go over PostgreSQL LISTEN/NOTIFY: its own connection.
      await start({
        upstreams: [{ id: 'vllm-b', baseUrl: vllm.baseUrl }],
        models: [{ id: CHAT, upstreams: ['vllm-b'] }],
        databaseUrl: database.url,
      });
    }
    for (const app of apps.splice(0)) await app.close();
    recorder.stop();

    expect(recorder.unguarded()).toEqual([]);
    const expected = ['vllm-a', 'tei-a', 'flux-a', 'whisperx-a', 'otlp', 'media', 'redis'];
    if (database) expected.push('database');
    expect([...recorder.guards()].sort()).toEqual([...expected].sort());
    // Redis: the rate-limit store and the image store; on PostgreSQL also the key-change publisher and
    // subscriber (the embedded database serves one process, whose key changes need no feed).
    expect(recorder.connects.filter((c) => c.guard === 'redis').length).toBeGreaterThanOrEqual(
      database ? 4 : 2,
    );
  });
});
