// Metadata only, proven end to end: a real `hunze serve` child process (built dist/cli.js) gets one unique
// canary string in every field of every endpoint, on success and on every error path; afterwards the canary
// and every secret (upstream api keys, the admin key, user keys) must appear nowhere the appliance wrote:
// stdout, stderr, GET /metrics, the OTLP spans and metrics it exported, a pg_dump of its database (e2e:postgres), every file under HUNZE_DATA_DIR
// (the PGlite database in e2e:pglite) and every file in its working directory.
//
// The canary contains "~", which x-request-id does not allow: a client's request id is client-chosen
// metadata that the gateway keeps and echoes when it is valid, so the canary is made invalid as one.
// Admin endpoints are excluded from the canary: a key's name and account are metadata the admin stores.
//
// Media by URL, in both modes of media.remoteUrls: the main server fetches (a media server on 127.0.0.1 serves
// bytes that contain the canary, at paths that contain it, and refuses a redirect, a wrong type and an
// unlisted host); a second server in the default `refuse` mode refuses the same URLs. Both are searched.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeFlux } from '../fakes/fake-flux';
import { FakeMediaServer, PNG_SIGNATURE } from '../fakes/fake-media-server';
import { FakeOtlpCollector } from '../fakes/fake-otlp-collector';
import { FakeTei } from '../fakes/fake-tei';
import { FakeVllm } from '../fakes/fake-vllm';
import { FakeWhisperx } from '../fakes/fake-whisperx';
import { filesUnder, findLeaks } from '../helpers/canary';
import { PROCESS_TEST_MS, type ServeChild, startServe } from '../helpers/cli';
import { configYaml, freshPostgresDatabase, usingPostgres, waitFor } from '../helpers/test-app';

// Tests here start CLI processes or appliances of their own (see PROCESS_TEST_MS).
jest.setTimeout(PROCESS_TEST_MS);

const CHAT = 'Qwen/Qwen3.6-35B-A3B-FP8';
const EMBED = 'BAAI/bge-m3';
const IMAGE = 'black-forest-labs/FLUX.1-dev';
const AUDIO = 'whisperx/large-v3';
const unique = (label: string) => `${label}${randomBytes(12).toString('hex')}`;

// Mixed case, so the upper/lower-case forms are distinct patterns; "~" makes it an invalid request id.
const CANARY = `CaNaRy~${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x')}~QzX`;
const SECRETS = {
  'vllm api key': unique('vllm-upstream-secret-'),
  'tei api key': unique('tei-upstream-secret-'),
  'flux api key': unique('flux-upstream-secret-'),
  'whisperx api key': unique('whisperx-upstream-secret-'),
  'admin key': unique('break-glass-admin-secret-'),
};
const ENV_NAMES = {
  'vllm api key': 'CANARY_VLLM_API_KEY',
  'tei api key': 'CANARY_TEI_API_KEY',
  'flux api key': 'CANARY_FLUX_API_KEY',
  'whisperx api key': 'CANARY_WHISPERX_API_KEY',
} as const;

interface Sent {
  what: string;
  status: number;
}

describe('metadata only: the canary never leaves the request', () => {
  let vllm: FakeVllm;
  let tei: FakeTei;
  let flux: FakeFlux;
  let whisperx: FakeWhisperx;
  let collector: FakeOtlpCollector;
  let media: FakeMediaServer;
  /** Not in media.allowedHosts: never contacted. */
  let unlisted: FakeMediaServer;
  /** The second server, in media.remoteUrls: refuse (the default), with its own data. */
  let refusing: {
    server: ServeChild;
    dataDir: string;
    database?: { url: string; drop: () => Promise<void> };
  };
  let tmp: string;
  let dataDir: string;
  let workDir: string;
  let database: { url: string; drop: () => Promise<void> } | undefined;
  let server: ServeChild | undefined;
  const userKeys: Record<string, string> = {};
  const sent: Sent[] = [];

  beforeAll(async () => {
    vllm = await FakeVllm.start({ modelName: CHAT, apiKey: SECRETS['vllm api key'] });
    tei = await FakeTei.start({ modelName: EMBED, apiKey: SECRETS['tei api key'] });
    flux = await FakeFlux.start({ apiKey: SECRETS['flux api key'] });
    whisperx = await FakeWhisperx.start({ apiKey: SECRETS['whisperx api key'] });
    collector = await FakeOtlpCollector.start();
    media = await FakeMediaServer.start('127.0.0.1');
    unlisted = await FakeMediaServer.start('127.0.0.2');
    media.image = Buffer.concat([
      PNG_SIGNATURE,
      randomBytes(300),
      Buffer.from(`media ${CANARY} bytes`),
      randomBytes(300),
    ]);
    tmp = mkdtempSync(join(tmpdir(), 'hunze-canary-'));
    dataDir = join(tmp, 'data');
    workDir = join(tmp, 'cwd');
    mkdirSync(dataDir);
    mkdirSync(workDir);
    const configPath = join(tmp, 'hunze.yaml');
    writeFileSync(
      configPath,
      configYaml({
        upstreams: [
          {
            id: 'vllm-a',
            baseUrl: vllm.baseUrl,
            apiKey: `env:${ENV_NAMES['vllm api key']}`,
            // never open: every failure mode below must reach the upstream, not a short-circuit
            circuitBreaker: { failures: 1000, openSeconds: 1 },
          },
          {
            id: 'tei-a',
            baseUrl: tei.baseUrl,
            apiKey: `env:${ENV_NAMES['tei api key']}`,
            circuitBreaker: { failures: 1000, openSeconds: 1 },
          },
          { id: 'flux-a', baseUrl: flux.baseUrl, apiKey: `env:${ENV_NAMES['flux api key']}` },
          { id: 'whisperx-a', baseUrl: whisperx.baseUrl, apiKey: `env:${ENV_NAMES['whisperx api key']}` },
        ],
        models: [
          { id: CHAT, aliases: ['qwen'], upstreams: ['vllm-a'], quality: 3, costPerMTokens: 1 },
          { id: EMBED, aliases: ['bge'], kind: 'embedding', upstreams: ['tei-a'] },
          { id: IMAGE, aliases: ['flux'], kind: 'image', upstreams: ['flux-a'] },
          { id: AUDIO, aliases: ['whisper-1'], kind: 'audio', upstreams: ['whisperx-a'] },
        ],
        extraYaml:
          `telemetry: { otlpEndpoint: "${collector.url}", otlpNetworks: [127.0.0.0/8], otlpIntervalSeconds: 1 }\n` +
          'media: { remoteUrls: fetch, allowedHosts: [127.0.0.1/32] }\n',
      }),
    );
    if (usingPostgres()) database = await freshPostgresDatabase();
    const env: Record<string, string> = {
      HUNZE_CONFIG: configPath,
      HUNZE_DATA_DIR: dataDir,
      HUNZE_ADMIN_KEY: SECRETS['admin key'],
      ...(database ? { DATABASE_URL: database.url } : {}),
    };
    for (const [label, name] of Object.entries(ENV_NAMES)) env[name] = SECRETS[label as keyof typeof SECRETS];
    server = await startServe(env, { cwd: workDir });
    for (const role of ['user', 'dpo'] as const) {
      const res = await fetch(`${server.url}/admin/v1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SECRETS['admin key']}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `canary-test-${role}`, role }),
      });
      expect(res.status).toBe(201);
      userKeys[`${role} key`] = ((await res.json()) as { key: string }).key;
    }
    refusing = await startRefusingServer(env);
  });

  /** A server like the main one but with media.remoteUrls at its default (refuse), its own database and key. */
  async function startRefusingServer(mainEnv: Record<string, string>): Promise<typeof refusing> {
    const refuseDir = join(tmp, 'refuse');
    const refuseData = join(refuseDir, 'data');
    mkdirSync(refuseData, { recursive: true });
    const configPath = join(refuseDir, 'hunze.yaml');
    writeFileSync(
      configPath,
      configYaml({
        upstreams: [{ id: 'vllm-a', baseUrl: vllm.baseUrl, apiKey: `env:${ENV_NAMES['vllm api key']}` }],
        models: [{ id: CHAT, aliases: ['qwen'], upstreams: ['vllm-a'] }],
      }),
    );
    const refuseDb = usingPostgres() ? await freshPostgresDatabase() : undefined;
    const { DATABASE_URL: _mainDatabase, ...shared } = mainEnv;
    const env: Record<string, string> = { ...shared, HUNZE_CONFIG: configPath, HUNZE_DATA_DIR: refuseData };
    if (refuseDb) env.DATABASE_URL = refuseDb.url;
    const started = {
      server: await startServe(env, { cwd: workDir }),
      dataDir: refuseData,
      database: refuseDb,
    };
    const res = await fetch(`${started.server.url}/admin/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS['admin key']}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'canary-test-refuse', role: 'user' }),
    });
    expect(res.status).toBe(201);
    userKeys['refuse-mode user key'] = ((await res.json()) as { key: string }).key;
    return started;
  }

  afterAll(async () => {
    await server?.stop();
    await refusing?.server.stop();
    await Promise.all([vllm?.close(), tei?.close(), flux?.close(), whisperx?.close(), collector?.close()]);
    await Promise.all([media?.close(), unlisted?.close()]);
    await database?.drop();
    await refusing?.database?.drop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const key = () => userKeys['user key']!;
  /** One request; the status is recorded, the body read to the end (or the error swallowed for aborts). */
  async function send(
    what: string,
    path: string,
    init: { body?: string | FormData; headers?: Record<string, string>; method?: string } = {},
  ): Promise<Response> {
    const res = await fetch(`${server!.url}${path}`, {
      method: init.method ?? 'POST',
      headers: {
        authorization: `Bearer ${key()}`,
        ...(typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      body: init.body,
    });
    await res.arrayBuffer().catch(() => undefined);
    sent.push({ what, status: res.status });
    return res;
  }
  const json = (value: unknown) => JSON.stringify(value);
  /** The server's metadata records of finished requests, one line each on its stdout. */
  const requestRecords = () =>
    server!
      .stdout()
      .split('\n')
      .filter((l) => l.includes('"evt":"request"'));

  const chatBody = (extra: Record<string, unknown> = {}) => ({
    model: 'qwen',
    user: CANARY,
    messages: [
      { role: 'system', content: `system ${CANARY}` },
      { role: 'developer', content: [{ type: 'text', text: `developer ${CANARY}` }] },
      { role: 'user', name: CANARY, content: [{ type: 'text', text: `user ${CANARY}` }] },
      {
        role: 'assistant',
        content: `assistant ${CANARY}`,
        tool_calls: [
          {
            id: `call_${CANARY}`,
            type: 'function',
            function: { name: 'lookup', arguments: json({ query: CANARY }) },
          },
        ],
      },
      { role: 'tool', tool_call_id: `call_${CANARY}`, content: `tool ${CANARY}` },
      { role: 'user', content: `again ${CANARY}` },
    ],
    tools: [
      {
        type: 'function',
        function: {
          name: 'lookup',
          description: CANARY,
          parameters: { type: 'object', properties: { query: { type: 'string', description: CANARY } } },
        },
      },
    ],
    metadata: { note: CANARY },
    ...extra,
  });

  const audioFile = () => {
    const bytes = Buffer.concat([randomBytes(512), Buffer.from(`audio ${CANARY} bytes`), randomBytes(512)]);
    return new File([bytes], `${CANARY}.wav`, { type: 'audio/wav' });
  };
  const audioForm = (extra: Record<string, string> = {}) => {
    const form = new FormData();
    form.append('model', 'whisper-1');
    form.append('prompt', CANARY);
    for (const [name, value] of Object.entries(extra)) form.append(name, value);
    form.append('file', audioFile());
    return form;
  };
  const gemini = {
    contents: [{ role: 'user', parts: [{ text: `gemini ${CANARY}` }] }],
    systemInstruction: { parts: [{ text: `system ${CANARY}` }] },
  };

  it('sends the canary through every endpoint, success and failure, and it is nowhere afterwards', async () => {
    // Successful paths: chat (stream and not, all roles, tools), completions, embeddings, images, audio,
    // Gemini, model "auto".
    expect((await send('chat', '/v1/chat/completions', { body: json(chatBody()) })).status).toBe(200);
    expect(
      (await send('chat stream', '/v1/chat/completions', { body: json(chatBody({ stream: true })) })).status,
    ).toBe(200);
    expect(
      (await send('chat auto', '/v1/chat/completions', { body: json(chatBody({ model: 'auto' })) })).status,
    ).toBe(200);
    const completion = { model: 'qwen', prompt: `complete ${CANARY}`, user: CANARY };
    expect((await send('completions', '/v1/completions', { body: json(completion) })).status).toBe(200);
    expect(
      (await send('completions stream', '/v1/completions', { body: json({ ...completion, stream: true }) }))
        .status,
    ).toBe(200);
    const embedding = { model: 'bge', input: [CANARY, `second ${CANARY}`], user: CANARY };
    expect((await send('embeddings', '/v1/embeddings', { body: json(embedding) })).status).toBe(200);
    const image = { model: 'flux', prompt: `paint ${CANARY}`, user: CANARY, response_format: 'b64_json' };
    expect((await send('images', '/v1/images/generations', { body: json(image) })).status).toBe(200);
    expect((await send('transcription', '/v1/audio/transcriptions', { body: audioForm() })).status).toBe(200);
    expect((await send('diarize', '/v1/audio/diarize', { body: audioForm() })).status).toBe(200);
    const goog = { 'x-goog-api-key': key() };
    expect(
      (await send('gemini', '/v1beta/models/qwen:generateContent', { body: json(gemini), headers: goog }))
        .status,
    ).toBe(200);
    expect(
      (
        await send('gemini stream', '/v1beta/models/qwen:streamGenerateContent?alt=sse', {
          body: json(gemini),
          headers: goog,
        })
      ).status,
    ).toBe(200);
    // Media by URL (media.remoteUrls: fetch): the canary in the URL and in the media bytes.
    const mediaUrl = (host: FakeMediaServer, name: string) => `${host.url}/${CANARY}/${name}?note=${CANARY}`;
    const imagePart = (url: string) => ({ type: 'image_url', image_url: { url } });
    const withMedia = (part: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      chatBody({ messages: [{ role: 'user', content: [{ type: 'text', text: CANARY }, part] }], ...extra });
    const geminiMedia = (fileUri: string) => ({
      contents: [
        { role: 'user', parts: [{ text: CANARY }, { fileData: { mimeType: 'image/png', fileUri } }] },
      ],
    });
    const mediaCases = (host: FakeMediaServer): [string, unknown][] => [
      ['chat', withMedia(imagePart(mediaUrl(host, 'image.png')))],
      ['chat stream', withMedia(imagePart(mediaUrl(host, 'image.png')), { stream: true })],
      ['audio', withMedia({ type: 'audio_url', audio_url: { url: mediaUrl(host, 'image.wav') } })],
    ];
    for (const [what, body] of mediaCases(media))
      expect((await send(`media fetched ${what}`, '/v1/chat/completions', { body: json(body) })).status).toBe(
        200,
      );
    const fetchedGemini = json(geminiMedia(mediaUrl(media, 'image.png')));
    expect(
      (
        await send('media fetched gemini', '/v1beta/models/qwen:generateContent', {
          body: fetchedGemini,
          headers: goog,
        })
      ).status,
    ).toBe(200);
    for (const [what, url] of <[string, string][]>[
      ['redirect', mediaUrl(media, 'redirect')],
      ['type', mediaUrl(media, 'page.html')],
      ['status', mediaUrl(media, 'not-found')],
      ['unlisted host', mediaUrl(unlisted, 'image.png')],
    ])
      await send(`media refused ${what}`, '/v1/chat/completions', { body: json(withMedia(imagePart(url))) });
    await send('media refused file id', '/v1/chat/completions', {
      body: json(withMedia({ type: 'file', file: { file_id: CANARY } })),
    });
    await send('media refused gemini', '/v1beta/models/qwen:generateContent', {
      body: json(geminiMedia(mediaUrl(unlisted, 'image.png'))),
      headers: goog,
    });
    expect(media.requests.filter((p) => p.includes(CANARY))).toHaveLength(7);
    expect(unlisted.connections).toBe(0);

    // The same media in the default mode, refuse, on the second server: refused before anything is fetched.
    const refusedSent: Sent[] = [];
    const fetchedBefore = media.requests.length;
    const sendRefusing = async (what: string, path: string, body: unknown) => {
      const res = await fetch(`${refusing.server.url}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${userKeys['refuse-mode user key']}`,
          'content-type': 'application/json',
        },
        body: json(body),
      });
      await res.arrayBuffer();
      refusedSent.push({ what, status: res.status });
    };
    for (const [what, body] of mediaCases(media))
      await sendRefusing(`refuse mode ${what}`, '/v1/chat/completions', body);
    await sendRefusing(
      'refuse mode file id',
      '/v1/chat/completions',
      withMedia({ type: 'file', file: { file_id: CANARY } }),
    );
    await sendRefusing(
      'refuse mode gemini',
      '/v1beta/models/qwen:generateContent',
      geminiMedia(mediaUrl(media, 'image.png')),
    );
    expect(refusedSent.map((r) => `${r.what}: ${r.status}`)).toEqual(
      refusedSent.map((r) => `${r.what}: 400`),
    );
    expect(media.requests.length).toBe(fetchedBefore);
    const refusingMetrics = await (await fetch(`${refusing.server.url}/metrics`)).text();
    expect((await refusing.server.stop()).code).toBe(0);

    // The canary reached the upstreams: the test is not vacuous (media bytes too, as base64 in a data: URI).
    expect(JSON.stringify(vllm.requests.map((r) => r.body))).toContain(CANARY);
    expect(JSON.stringify(vllm.requests.map((r) => r.body))).toContain(media.image.toString('base64'));
    expect(JSON.stringify(tei.requests.map((r) => r.body))).toContain(CANARY);

    // Client errors: malformed JSON, failed validation, unknown model, an unknown field named by the canary,
    // unknown routes and files, bad keys, an invalid request id.
    for (const path of ['/v1/chat/completions', '/v1/embeddings', '/v1/images/generations'])
      await send(`malformed ${path}`, path, { body: `{"model":"qwen","messages":[{"content":"${CANARY}"` });
    await send('malformed gemini', '/v1beta/models/qwen:generateContent', {
      body: `{"contents":[{"parts":[{"text":"${CANARY}"`,
      headers: goog,
    });
    await send('bad role', '/v1/chat/completions', {
      body: json({ model: 'qwen', messages: [{ role: CANARY, content: CANARY }] }),
    });
    await send('bad temperature', '/v1/chat/completions', {
      body: json(chatBody({ temperature: CANARY, max_tokens: CANARY })),
    });
    await send('bad embedding', '/v1/embeddings', { body: json({ model: 'bge', input: [{ [CANARY]: 1 }] }) });
    await send('bad image', '/v1/images/generations', { body: json({ ...image, size: CANARY }) });
    await send('bad audio format', '/v1/audio/transcriptions', {
      body: audioForm({ response_format: CANARY }),
    });
    await send('unknown model chat', '/v1/chat/completions', { body: json(chatBody({ model: CANARY })) });
    await send('unknown model embeddings', '/v1/embeddings', { body: json({ ...embedding, model: CANARY }) });
    await send('unknown model gemini', `/v1beta/models/${CANARY}:generateContent`, {
      body: json(gemini),
      headers: goog,
    });
    await send('unknown field', '/v1/chat/completions', { body: json(chatBody({ [CANARY]: CANARY })) });
    await send('unknown route', `/v1/${CANARY}`, { body: json({ x: CANARY }) });
    await send('unknown image file', `/v1/images/files/${CANARY}`, { method: 'GET' });
    await send('bad bearer key', '/v1/chat/completions', {
      body: json(chatBody()),
      headers: { authorization: `Bearer ${CANARY}` },
    });
    await send('bad query key', `/v1beta/models/qwen:generateContent?key=${CANARY}`, {
      body: json(gemini),
      headers: { authorization: '' },
    });
    await send('invalid request id', '/v1/chat/completions', {
      body: json(chatBody()),
      headers: { 'x-request-id': `id-${CANARY}` },
    });

    // Upstream errors that echo the prompt, upstream resets (before and mid-stream).
    for (const mode of [
      'error-echo',
      'plain-text-500',
      'reset',
      'reset-mid-stream',
      'error-mid-stream',
    ] as const) {
      vllm.mode = mode;
      await send(`vllm ${mode}`, '/v1/chat/completions', { body: json(chatBody()) });
      await send(`vllm ${mode} stream`, '/v1/chat/completions', { body: json(chatBody({ stream: true })) });
      await send(`vllm ${mode} completions`, '/v1/completions', { body: json(completion) });
      await send(`vllm ${mode} gemini`, '/v1beta/models/qwen:generateContent', {
        body: json(gemini),
        headers: goog,
      });
    }
    vllm.mode = 'ok';
    tei.mode = 'tokenizer-error';
    await send('tei tokenizer-error', '/v1/embeddings', { body: json(embedding) });
    tei.mode = 'reset';
    await send('tei reset', '/v1/embeddings', { body: json(embedding) });
    tei.mode = 'ok';
    flux.mode = 'error';
    await send('flux error', '/v1/images/generations', { body: json(image) });
    flux.mode = 'ok';
    whisperx.mode = 'error';
    await send('whisperx error', '/v1/audio/transcriptions', { body: audioForm() });
    whisperx.mode = 'ok';

    // A client that aborts mid-stream, after the first chunk.
    vllm.chunkDelayMs = 100;
    const abort = new AbortController();
    const streaming = await fetch(`${server!.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key()}`, 'content-type': 'application/json' },
      body: json(chatBody({ stream: true })),
      signal: abort.signal,
    });
    expect(streaming.status).toBe(200);
    const reader = streaming.body!.getReader();
    await reader.read();
    abort.abort();
    await reader.read().catch(() => undefined);
    // A client that gives up before the upstream answered at all: once the request has reached the upstream.
    vllm.mode = 'hang';
    const reachedUpstream = vllm.requests.length;
    const early = new AbortController();
    const hanging = fetch(`${server!.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key()}`, 'content-type': 'application/json' },
      body: json(chatBody()),
      signal: early.signal,
    }).catch(() => undefined);
    await waitFor(async () => vllm.requests.length > reachedUpstream, 30_000);
    early.abort();
    await hanging;
    // The gateway noticed both aborts: it recorded both requests (a record is written when a request ends).
    await waitFor(async () => requestRecords().length >= sent.length + 2, 30_000);
    vllm.mode = 'ok';
    vllm.chunkDelayMs = 0;

    // GET /admin/v1/config: admin and DPO see secrets only as their env: references.
    for (const role of ['admin', 'dpo'] as const) {
      const bearer = role === 'admin' ? SECRETS['admin key'] : userKeys['dpo key']!;
      const res = await fetch(`${server!.url}/admin/v1/config`, {
        headers: { authorization: `Bearer ${bearer}` },
      });
      expect(res.status).toBe(200);
      const text = await res.text();
      const body = JSON.parse(text) as {
        fingerprint: string;
        config: { auth: { adminKey: string }; upstreams: { id: string; apiKey: string }[] };
      };
      expect(body.fingerprint).toMatch(/^[0-9a-f]{64}$/);
      expect(body.config.auth.adminKey).toBe('env:HUNZE_ADMIN_KEY');
      expect(body.config.upstreams.map((u) => u.apiKey)).toEqual(
        Object.values(ENV_NAMES).map((n) => `env:${n}`),
      );
      expect(findLeaks({ ...SECRETS, ...userKeys }, { [`GET /admin/v1/config as ${role}`]: text })).toEqual(
        [],
      );
    }
    const userTries = await fetch(`${server!.url}/admin/v1/config`, {
      headers: { authorization: `Bearer ${key()}` },
    });
    expect(userTries.status).toBe(403);

    const metrics = await (await fetch(`${server!.url}/metrics`)).text();
    expect(metrics).toContain('hunze_');
    const stopped = await server!.stop();
    expect(stopped.code).toBe(0);

    const haystacks: Record<string, Buffer | string> = {
      stdout: server!.stdout(),
      stderr: server!.stderr(),
      'GET /metrics': metrics,
      'OTLP traces': collector.traceBodies.join('\n'),
      'OTLP metrics': collector.metricBodies.join('\n'),
    };
    // The exporter really ran: a span for every request (flushed at shutdown) and the request counter.
    expect(collector.spans().length).toBeGreaterThanOrEqual(sent.length);
    expect(collector.metrics().map((m) => m.name)).toContain('hunze.requests');
    if (database) {
      haystacks['pg_dump'] = execFileSync('pg_dump', ['--no-owner', '-d', database.url], {
        maxBuffer: 256 * 1024 * 1024,
        timeout: 30_000,
      });
      expect(haystacks['pg_dump'].toString()).toContain('CREATE TABLE');
    }
    for (const file of filesUnder(dataDir)) haystacks[`HUNZE_DATA_DIR/${file.path}`] = file.bytes;
    for (const file of filesUnder(workDir)) haystacks[`cwd/${file.path}`] = file.bytes;
    haystacks['refuse-mode stdout'] = refusing.server.stdout();
    haystacks['refuse-mode stderr'] = refusing.server.stderr();
    haystacks['refuse-mode GET /metrics'] = refusingMetrics;
    for (const file of filesUnder(refusing.dataDir))
      haystacks[`refuse-mode HUNZE_DATA_DIR/${file.path}`] = file.bytes;
    if (refusing.database)
      haystacks['refuse-mode pg_dump'] = execFileSync(
        'pg_dump',
        ['--no-owner', '-d', refusing.database.url],
        {
          maxBuffer: 256 * 1024 * 1024,
          timeout: 30_000,
        },
      );
    if (!database) expect(Object.keys(haystacks).length).toBeGreaterThan(10); // PGlite's data files

    // The server saw and recorded every request (so the logs were searched where the canary would be).
    expect(requestRecords().length).toBeGreaterThanOrEqual(sent.length + 2);
    // Every path ended the way it was meant to (the error paths really were error paths).
    const statuses = Object.fromEntries(sent.map((r) => [r.what, r.status]));
    for (const [what, status] of Object.entries(statuses)) {
      const expected = /^(malformed|bad (role|temperature|embedding|image|audio)|media refused)/.test(what)
        ? 400
        : /^unknown (model|route|image)/.test(what)
          ? 404
          : /^bad (bearer|query) key/.test(what)
            ? 401
            : /error-echo|error-mid-stream(?! stream)|tokenizer/.test(what)
              ? 400
              : /plain-text-500|reset(?!-mid-stream stream)|flux error|whisperx error/.test(what)
                ? 502
                : 200;
      expect(`${what}: ${status}`).toBe(`${what}: ${expected}`);
    }
    // Positive control: the searches see what the appliance does store (a key's name, admin metadata).
    const stored = Object.fromEntries(
      Object.entries(haystacks).filter(
        ([where]) => where === 'pg_dump' || where.startsWith('HUNZE_DATA_DIR/'),
      ),
    );
    expect(findLeaks({ 'key name': 'canary-test-user' }, stored)).not.toEqual([]);
    expect(findLeaks({ canary: CANARY, ...SECRETS, ...userKeys }, haystacks)).toEqual([]);
  });
});
