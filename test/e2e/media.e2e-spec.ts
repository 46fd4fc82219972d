// Media referenced by URL never makes a GPU host fetch anything. Under `media.remoteUrls: refuse` (the
// default) a remote URL in any media part is a 400 that names the field, never the URL, and the upstream
// receives nothing. Under `fetch` the gateway downloads the media itself through the residency guard and the
// upstream receives a data: URI with exactly the served bytes; a redirect, an oversize body (declared, or
// streamed without a length), a wrong content type and an address outside the allowed set are refused, and
// then nothing at all goes upstream. Only 127.0.0.1 (listed) and 127.0.0.2 (not listed) are contacted.
import { residencyEvents, type ResidencyViolation } from '../../src/residency/residency-connector';
import { FakeMediaServer } from '../fakes/fake-media-server';
import { FakeVllm } from '../fakes/fake-vllm';
import { adminCall } from '../helpers/admin-api';
import { openAiErrorOf, send, type RawResponse } from '../helpers/raw-http';
import { ADMIN_KEY, startTestApp, waitFor, type TestApp } from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const MAX_BYTES = 100_000;

type Obj = Record<string, any>;

const chat = (...parts: Obj[]) => ({
  model: MODEL,
  messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in this?' }, ...parts] }],
});
const image = (url: string) => ({ type: 'image_url', image_url: { url } });
const gemini = (fileUri: string) => ({
  contents: [
    { role: 'user', parts: [{ text: 'Describe' }, { fileData: { mimeType: 'image/png', fileUri } }] },
  ],
});

describe('media URLs', () => {
  let vllm: FakeVllm;
  let media: FakeMediaServer;
  /** Not in media.allowedHosts: it must never see a connection. */
  let unlisted: FakeMediaServer;
  let hunze: TestApp;
  let key: string;

  beforeAll(async () => {
    vllm = await FakeVllm.start({ modelName: MODEL });
    media = await FakeMediaServer.start('127.0.0.1');
    unlisted = await FakeMediaServer.start('127.0.0.2');
  });
  afterAll(async () => {
    await Promise.all([vllm?.close(), media?.close(), unlisted?.close()]);
  });
  beforeEach(() => {
    vllm.reset();
    media.reset();
    unlisted.reset();
  });

  async function start(extraYaml: string): Promise<void> {
    hunze = await startTestApp({
      upstreams: [{ id: 'vllm-a', baseUrl: vllm.baseUrl }],
      models: [{ id: MODEL, upstreams: ['vllm-a'] }],
      extraYaml,
    });
    key = (await hunze.createKey()).key;
  }
  const post = (path: string, body: unknown): Promise<RawResponse> =>
    send(`${hunze.url}${path}`, {
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const postChat = (body: unknown) => post('/v1/chat/completions', body);
  const postGemini = (body: unknown) =>
    post(`/v1beta/models/${encodeURIComponent(MODEL)}:generateContent`, body);

  /** A 400 of `code` naming `param`, which echoes no URL, and after which nothing went upstream. */
  function expectRefused(res: RawResponse, code: string, param: string): void {
    expect(res.status).toBe(400);
    const error = openAiErrorOf(res);
    expect([error.code, error.param]).toEqual([code, param]);
    expect(res.text).not.toContain('127.0.0');
    expect(res.text).not.toContain('example');
    expect(vllm.requests).toHaveLength(0);
  }

  describe('remoteUrls: refuse (the default)', () => {
    beforeAll(() => start(''));
    afterAll(() => hunze.close());

    it('refuses a remote image URL with 400 remote_media_refused; the upstream and the host receive nothing', async () => {
      const res = await postChat(chat(image(`${media.url}/image.png`)));
      expectRefused(res, 'remote_media_refused', 'messages[0].content[1].image_url.url');
      expect(media.connections).toBe(0);
    });

    it('refuses every part that carries a URL, naming its field', async () => {
      const url = 'https://media.example/x';
      const cases: [Obj, string][] = [
        [{ type: 'audio_url', audio_url: { url } }, 'audio_url.url'],
        [{ type: 'video_url', video_url: { url } }, 'video_url.url'],
        [{ type: 'image_url', image_url: url }, 'image_url'], // vLLM's plain-string form
        [{ type: 'file', file: { file_data: url, filename: 'x.pdf' } }, 'file.file_data'],
        [{ type: 'input_file', file_url: url }, 'file_url'],
        [image('file:///etc/passwd'), 'image_url.url'],
      ];
      for (const [part, field] of cases)
        expectRefused(await postChat(chat(part)), 'remote_media_refused', `messages[0].content[1].${field}`);
      const streamed = await postChat({ ...chat(image(url)), stream: true });
      expectRefused(streamed, 'remote_media_refused', 'messages[0].content[1].image_url.url');
    });

    it('refuses a file_id: the gateway stores no files', async () => {
      const res = await postChat(chat({ type: 'file', file: { file_id: 'file-abc123' } }));
      expectRefused(res, 'file_reference_unsupported', 'messages[0].content[1].file.file_id');
    });

    it('passes inline media (data: URIs, base64 file data) as it is', async () => {
      const body = chat(image('data:image/png;base64,iVBORw0KGgo='), {
        type: 'input_audio',
        input_audio: { data: 'UklGRg==', format: 'wav' },
      });
      expect((await postChat(body)).status).toBe(200);
      expect(vllm.requests[0]!.body.messages).toEqual(body.messages);
    });

    it('refuses Gemini fileData with a Gemini-shaped 400', async () => {
      const res = await postGemini(gemini(`${media.url}/image.png`));
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text)).toEqual({
        error: { code: 400, status: 'INVALID_ARGUMENT', message: expect.stringContaining('data: URI') },
      });
      expect(res.text).not.toContain('127.0.0.1');
      expect(vllm.requests).toHaveLength(0);
      expect(media.connections).toBe(0);
    });
  });

  describe('remoteUrls: fetch', () => {
    const violations: ResidencyViolation[] = [];
    let unsubscribe: () => void;
    beforeAll(async () => {
      unsubscribe = residencyEvents.subscribe((v) => violations.push(v));
      await start(
        `media: { remoteUrls: fetch, maxBytes: ${MAX_BYTES}, allowedHosts: [127.0.0.1/32], timeoutMs: 20000 }\n`,
      );
    });
    afterAll(async () => {
      unsubscribe();
      await hunze.close();
    });

    it('downloads a listed loopback host’s image and sends exactly its bytes upstream as a data: URI', async () => {
      const res = await postChat(chat(image(`${media.url}/image.png?size=large`)));
      expect(res.status).toBe(200);
      expect(media.requests).toEqual(['/image.png']);
      const part = vllm.requests[0]!.body.messages[0].content[1];
      expect(part).toEqual({
        type: 'image_url',
        image_url: { url: `data:image/png;base64,${media.image.toString('base64')}` },
      });
      expect(Buffer.from(part.image_url.url.split(',')[1], 'base64').equals(media.image)).toBe(true);
      // Media bytes are content: not in any log line.
      const logs = hunze.logLines.join('\n');
      expect(logs).not.toContain(media.image.subarray(8, 200).toString('base64').slice(4, 60));
      expect(logs).not.toContain('/image.png');
    });

    it('inlines audio parts and Gemini fileData the same way', async () => {
      const audio = await postChat(chat({ type: 'audio_url', audio_url: { url: `${media.url}/image.wav` } }));
      expect(audio.status).toBe(200);
      expect(vllm.requests[0]!.body.messages[0].content[1]).toEqual({
        type: 'audio_url',
        audio_url: { url: `data:audio/wav;base64,${media.image.toString('base64')}` },
      });
      const res = await postGemini(gemini(`${media.url}/image.png`));
      expect(res.status).toBe(200);
      expect(vllm.requests[1]!.body.messages[0].content[1]).toEqual(
        image(`data:image/png;base64,${media.image.toString('base64')}`),
      );
    });

    it('refuses a redirect without following it', async () => {
      const res = await postChat(chat(image(`${media.url}/redirect`)));
      expectRefused(res, 'remote_media_unavailable', 'messages[0].content[1].image_url.url');
      expect(openAiErrorOf(res).message).toContain('redirect');
      expect(media.requests).toEqual(['/redirect']);
    });

    it('refuses a body declared larger than maxBytes, on the header alone', async () => {
      media.declaredLength = MAX_BYTES + 1;
      const res = await postChat(chat(image(`${media.url}/declared-too-large`)));
      expectRefused(res, 'remote_media_unavailable', 'messages[0].content[1].image_url.url');
      expect(openAiErrorOf(res).message).toContain('larger than the configured limit');
    });

    it('cuts a body streamed without a length as soon as it passes maxBytes', async () => {
      const res = await postChat(chat(image(`${media.url}/stream`)));
      expectRefused(res, 'remote_media_unavailable', 'messages[0].content[1].image_url.url');
      expect(openAiErrorOf(res).message).toContain('larger than the configured limit');
      await waitFor(async () => media.streamEnded !== null, 30_000);
      expect(media.streamEnded).toBe('cut'); // 64 MiB were on offer; the gateway stopped reading long before
    });

    it('refuses a content type that is not the part’s media type', async () => {
      const html = await postChat(chat(image(`${media.url}/page.html`)));
      expectRefused(html, 'remote_media_unavailable', 'messages[0].content[1].image_url.url');
      expect(openAiErrorOf(html).message).toContain('content type');
      const audioAsImage = await postChat(chat(image(`${media.url}/image.wav`)));
      expectRefused(audioAsImage, 'remote_media_unavailable', 'messages[0].content[1].image_url.url');
      const failed = await postChat(chat(image(`${media.url}/not-found`)));
      expectRefused(failed, 'remote_media_unavailable', 'messages[0].content[1].image_url.url');
    });

    it('refuses an address outside the allowed set before connecting, and audits it', async () => {
      violations.length = 0;
      const res = await postChat(chat(image(`${unlisted.url}/image.png`)));
      expectRefused(res, 'remote_media_unavailable', 'messages[0].content[1].image_url.url');
      expect(openAiErrorOf(res).message).toContain('not allowed');
      expect(unlisted.connections).toBe(0);
      expect(violations).toEqual([{ upstream: 'media', reason: 'outside_networks', family: 4 }]);
      await waitFor(async () => {
        const audit = await adminCall(hunze.url, 'GET', '/audit', { key: ADMIN_KEY });
        return JSON.stringify(audit.body).includes('residency.violation');
      }, 30_000);
      const ftp = await postChat(chat(image('ftp://127.0.0.1/image.png')));
      expectRefused(ftp, 'remote_media_unavailable', 'messages[0].content[1].image_url.url');
    });

    it('refuses Gemini fileData it cannot fetch, Gemini-shaped, and still refuses a file_id', async () => {
      const res = await postGemini(gemini(`${unlisted.url}/image.png`));
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text)).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
      expect(res.text).not.toContain('127.0.0.2');
      expectRefused(
        await postChat(chat({ type: 'file', file: { file_id: 'file-abc123' } })),
        'file_reference_unsupported',
        'messages[0].content[1].file.file_id',
      );
      expect(unlisted.connections).toBe(0);
    });

    it('counts fetches by outcome, and nothing about their content', async () => {
      const metrics = await (await fetch(`${hunze.url}/metrics`)).text();
      const lines = metrics.split('\n').filter((l) => l.startsWith('hunze_media_fetches_total{'));
      const outcomes = Object.fromEntries(
        lines.map((l) => [/outcome="([a-z_]+)"/.exec(l)![1], Number(l.split(' ').pop())]),
      );
      expect(outcomes).toMatchObject({ ok: 3, redirect: 1, too_large: 2, content_type: 2, status: 1 });
      expect(outcomes.not_allowed).toBeGreaterThanOrEqual(3);
      expect(metrics).not.toContain('127.0.0');
    });
  });
});
