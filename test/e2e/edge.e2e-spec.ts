// The edge of the server, where a request is still bytes on a socket: a caller without a valid key is
// refused from its headers before its body is read (memory stays flat under large anonymous uploads), a
// body that stops arriving is cut, an early answer (401, 413) reaches a client that is still uploading,
// and every error from the HTTP parser up is an OpenAI error with a request id.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { FakeVllm } from '../fakes/fake-vllm';
import { PROCESS_TEST_MS, startServe, type ServeChild } from '../helpers/cli';
import {
  exchange,
  GENERATED_REQUEST_ID,
  openAiErrorOf,
  parseRawResponse,
  send,
  type RawResponse,
} from '../helpers/raw-http';
import {
  ADMIN_KEY,
  configYaml,
  freshPostgresDatabase,
  startTestApp,
  usingPostgres,
  type TestApp,
} from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const MB = 1024 * 1024;

/** An OpenAI error from the catalogue, with a generated request id. */
function expectCatalogueError(res: RawResponse | undefined, status: number, code: string): void {
  expect(res).toBeDefined();
  expect(res!.status).toBe(status);
  expect(openAiErrorOf(res!).code).toBe(code);
  expect(res!.headers['x-request-id']).toMatch(GENERATED_REQUEST_ID);
  expect(res!.headers['x-content-type-options']).toBe('nosniff');
}

const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;

/**
 * Uploads `body` the way curl does (as fast as the server takes it, whatever it answers meanwhile) and
 * returns the answer once the upload is over or the server has closed the connection.
 */
async function upload(url: string, headers: string[], body: Buffer): Promise<RawResponse | undefined> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(head([...headers, `Content-Length: ${body.length}`]));
  const SLICE = 256 * 1024;
  for (let at = 0; at < body.length && !socket.destroyed; at += SLICE) {
    if (!socket.write(body.subarray(at, at + SLICE))) {
      await Promise.race([new Promise((r) => socket.once('drain', r)), closed]);
    }
  }
  const answered = () => parseRawResponse(Buffer.concat(chunks).toString('latin1'));
  const deadline = Date.now() + 60_000;
  while (!answered() && !socket.destroyed && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 10));
  socket.destroy();
  return answered();
}

/** One keep-alive connection for several requests in turn: each `answer()` is the next response on it. */
function connect(url: string) {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  return {
    write: (bytes: string | Buffer) => socket.write(bytes),
    async answer(): Promise<RawResponse | undefined> {
      for (let waited = 0; !parseRawResponse(received) && !socket.destroyed && waited < 60_000; waited += 10)
        await new Promise((r) => setTimeout(r, 10));
      const response = parseRawResponse(received);
      received = '';
      return response;
    },
    close: () => socket.destroy(),
  };
}

describe('the server edge', () => {
  let upstream: FakeVllm;
  let hunze: TestApp;
  let key: string;
  const warnings: string[] = [];

  beforeAll(async () => {
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation((warning, ...rest) => {
      const code = rest.find((r) => typeof r === 'string' && /^[A-Z]+\d+$/.test(r));
      warnings.push(`${String(code)} ${String(warning)}`);
    });
    upstream = await FakeVllm.start({ modelName: MODEL });
    try {
      hunze = await startTestApp({
        upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
        models: [{ id: MODEL, aliases: ['qwen'], upstreams: ['vllm-a'] }],
      });
    } finally {
      emitWarning.mockRestore();
    }
    ({ key } = await hunze.createKey({ name: 'edge' }));
  });

  afterAll(async () => {
    await hunze?.close();
    await upstream?.close();
  });

  it('starts without Fastify deprecation warnings', () => {
    expect(warnings.filter((w) => w.includes('FSTDEP'))).toEqual([]);
  });

  describe('a request without a valid key', () => {
    it('is answered 401 from its headers, without waiting for the body it announces', async () => {
      const got = await exchange(
        hunze.url,
        head([
          'POST /v1/chat/completions HTTP/1.1',
          'Host: x',
          'Content-Type: application/json',
          'Content-Length: 1000000',
        ]),
        { untilAnswered: true },
      );
      expectCatalogueError(got.response, 401, 'invalid_api_key');
    });

    it.each([
      ['no key', undefined],
      ['an unknown key', 'sk-unknown-0123456789abcdef'],
    ])('with %s: 8 concurrent 24 MB bodies get 401 while memory stays flat', async (_name, presented) => {
      const body = Buffer.alloc(24 * MB, 0x61);
      const headers = [
        'POST /v1/chat/completions HTTP/1.1',
        'Host: x',
        'Content-Type: application/json',
        ...(presented ? [`Authorization: Bearer ${presented}`] : []),
      ];
      global.gc?.();
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
      try {
        const answers = await Promise.all(Array.from({ length: 8 }, () => upload(hunze.url, headers, body)));
        for (const answer of answers) expectCatalogueError(answer, 401, 'invalid_api_key');
      } finally {
        clearInterval(sampler);
      }
      // Buffered, the eight bodies alone are 192 MB (twice that while Fastify joins the chunks).
      expect((peak - baseline) / MB).toBeLessThan(100);
    });

    it.each([
      ['24 MB, under the body limit', 24],
      ['40 MB, over the body limit', 40],
    ])('reaches the openai SDK as AuthenticationError for a body of %s', async (_name, sizeMb) => {
      const client = new OpenAI({ apiKey: 'sk-wrong-0123456789', baseURL: hunze.baseURL, maxRetries: 0 });
      const content = 'a'.repeat(sizeMb * MB);
      for (let attempt = 0; attempt < 3; attempt++) {
        const failure = await client.chat.completions
          .create({ model: 'qwen', messages: [{ role: 'user', content }] })
          .then(
            () => undefined,
            (err: unknown) => err,
          );
        expect(failure).toBeInstanceOf(OpenAI.AuthenticationError);
        expect((failure as InstanceType<typeof OpenAI.APIError>).code).toBe('invalid_api_key');
      }
    });

    it('still gets 404 for an unknown route and 200 for a public one', async () => {
      expectCatalogueError(await send(`${hunze.url}/v1/nope`, { method: 'GET' }), 404, 'not_found');
      expect((await send(`${hunze.url}/healthz`, { method: 'GET' })).status).toBe(200);
    });
  });

  describe('a connection after an answer that came before the body was read', () => {
    const manyKeys = () =>
      JSON.stringify({
        model: MODEL,
        messages: [{ role: 'user', content: 'hi' }],
        metadata: Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, 'v'])),
      });
    it.each([
      ['401 without a key', () => [] as string[], () => 'x'.repeat(2 * MB), 401, 'invalid_api_key'],
      [
        '400 for an object of too many keys',
        () => [`Authorization: Bearer ${key}`],
        manyKeys,
        400,
        'too_many_keys',
      ],
    ])('serves the next request on it: %s', async (_name, auth, bodyOf, status, code) => {
      const body = Buffer.from(bodyOf());
      const connection = connect(hunze.url);
      try {
        connection.write(
          head([
            'POST /v1/chat/completions HTTP/1.1',
            'Host: x',
            'Content-Type: application/json',
            ...auth(),
            `Content-Length: ${body.length}`,
          ]),
        );
        connection.write(body);
        expectCatalogueError(await connection.answer(), status, code);
        connection.write(head(['GET /healthz HTTP/1.1', 'Host: x']));
        expect((await connection.answer())?.status).toBe(200);
      } finally {
        connection.close();
      }
    });
  });

  describe('errors from the HTTP parser', () => {
    const get = (extra: string[]) => head(['GET /v1/models HTTP/1.1', 'Host: x', ...extra]);
    it.each([
      [
        '3,000 header lines',
        get(Array.from({ length: 3000 }, (_, i) => `X-Pad-${i}: v`)),
        431,
        'headers_too_large',
      ],
      ['a 64 KB key', get([`Authorization: Bearer ${'k'.repeat(64 * 1024)}`]), 431, 'headers_too_large'],
      ['an ESC byte in a header', get(['X-Odd: a\u001bb']), 400, 'malformed_request'],
      [
        'Content-Length with Transfer-Encoding',
        head([
          'POST /v1/chat/completions HTTP/1.1',
          'Host: x',
          'Content-Length: 5',
          'Transfer-Encoding: chunked',
        ]) + '0\r\n\r\n',
        400,
        'malformed_request',
      ],
      ['an unknown method', head(['FROB /v1/models HTTP/1.1', 'Host: x']), 400, 'malformed_request'],
      ['a broken request line', 'GET /v1/models HTTP/9\r\n\r\n', 400, 'malformed_request'],
    ])(
      '%s: an OpenAI error with a request id, then the connection closes',
      async (_name, bytes, status, code) => {
        const got = await exchange(hunze.url, bytes);
        expectCatalogueError(got.response, status, code);
        expect(got.closed).toBe(true);
      },
    );
  });

  describe('response headers', () => {
    it('admin answers are never cached, and no answer is content-sniffed', async () => {
      const admin = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
      const created = await send(`${hunze.url}/admin/v1/keys`, {
        headers: admin,
        body: JSON.stringify({ name: 'headers' }),
      });
      expect(created.status).toBe(201);
      expect(created.text).toContain('"key"');
      const listed = await send(`${hunze.url}/admin/v1/keys`, { method: 'GET', headers: admin });
      const refused = await send(`${hunze.url}/admin/v1/keys`, { method: 'GET' });
      for (const res of [created, listed, refused]) {
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.headers['x-content-type-options']).toBe('nosniff');
      }
      const models = await send(`${hunze.url}/v1/models`, {
        method: 'GET',
        headers: { authorization: `Bearer ${key}` },
      });
      expect(models.status).toBe(200);
      expect(models.headers['x-content-type-options']).toBe('nosniff');
    });
  });
});

describe('the server edge with tuned limits', () => {
  const TIMEOUT_MS = 1000;
  let upstream: FakeVllm;
  let hunze: TestApp;
  let key: string;

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: MODEL });
    hunze = await startTestApp({
      upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
      models: [{ id: MODEL, aliases: ['qwen'], upstreams: ['vllm-a'] }],
      bodyLimitMb: 1,
      server: { bodyReadTimeoutMs: TIMEOUT_MS, maxHeaderBytes: 8192 },
    });
    ({ key } = await hunze.createKey({ name: 'edge-tuned' }));
  });

  afterAll(async () => {
    await hunze?.close();
    await upstream?.close();
  });

  const stalled = (auth: string[]) =>
    head([
      'POST /v1/chat/completions HTTP/1.1',
      'Host: x',
      'Content-Type: application/json',
      'Content-Length: 100',
      ...auth,
    ]) + '{';

  it('a body that stops arriving is answered 408 and cut after server.bodyReadTimeoutMs', async () => {
    const sentAt = Date.now();
    const got = await exchange(hunze.url, stalled([`Authorization: Bearer ${key}`]));
    expectCatalogueError(got.response, 408, 'request_timeout');
    expect(got.closed).toBe(true);
    expect(got.answeredAt! - sentAt).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
  });

  it('without a key: 401 at once, and the stalled connection is cut after the timeout', async () => {
    const sentAt = Date.now();
    const got = await exchange(hunze.url, stalled([]));
    expectCatalogueError(got.response, 401, 'invalid_api_key');
    expect(got.closed).toBe(true);
    expect(got.closedAt! - sentAt).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
  });

  it('a connection idle after an early answer keeps the keep-alive timeout, not the body timeout', async () => {
    const connection = connect(hunze.url);
    try {
      connection.write(stalled([]).slice(0, -1));
      expectCatalogueError(await connection.answer(), 401, 'invalid_api_key');
      connection.write('x'.repeat(100));
      // Three body timeouts with no byte in either direction; the keep-alive timeout is over a minute.
      await new Promise((r) => setTimeout(r, 3 * TIMEOUT_MS));
      connection.write(head(['GET /healthz HTTP/1.1', 'Host: x']));
      expect((await connection.answer())?.status).toBe(200);
    } finally {
      connection.close();
    }
  });

  it('after a 413 for a body over the limit, the same connection serves the next request', async () => {
    const body = Buffer.from(
      JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(3 * MB) }] }),
    );
    const connection = connect(hunze.url);
    try {
      connection.write(
        head([
          'POST /v1/chat/completions HTTP/1.1',
          'Host: x',
          'Content-Type: application/json',
          `Authorization: Bearer ${key}`,
          `Content-Length: ${body.length}`,
        ]),
      );
      connection.write(body);
      expectCatalogueError(await connection.answer(), 413, 'request_too_large');
      connection.write(head(['GET /healthz HTTP/1.1', 'Host: x']));
      expect((await connection.answer())?.status).toBe(200);
    } finally {
      connection.close();
    }
  });

  it('server.maxHeaderBytes bounds the headers: 431 past it', async () => {
    const got = await exchange(
      hunze.url,
      head(['GET /healthz HTTP/1.1', 'Host: x', `X-Pad: ${'p'.repeat(10_000)}`]),
    );
    expectCatalogueError(got.response, 431, 'headers_too_large');
    expect(openAiErrorOf(got.response!).message).toContain('8192');
  });
});

// Client and server in one process take turns on one event loop, which hides the race between an early
// answer and a reset connection; a server process of its own shows it.
describe('the server edge, as a separate `hunze serve` process', () => {
  jest.setTimeout(PROCESS_TEST_MS);
  let upstream: FakeVllm;
  let server: ServeChild | undefined;
  let dataDir: string;
  let dropDatabase = async () => undefined as void;
  let key: string;

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: MODEL });
    dataDir = mkdtempSync(join(tmpdir(), 'hunze-edge-'));
    const configPath = join(dataDir, 'hunze.yaml');
    const yaml = configYaml({
      upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
      models: [{ id: MODEL, aliases: ['qwen'], upstreams: ['vllm-a'] }],
      bodyLimitMb: 1,
    });
    writeFileSync(configPath, yaml);
    const env: Record<string, string> = {
      HUNZE_CONFIG: configPath,
      HUNZE_DATA_DIR: dataDir,
      HUNZE_ADMIN_KEY: ADMIN_KEY,
    };
    if (usingPostgres()) {
      const db = await freshPostgresDatabase();
      env.DATABASE_URL = db.url;
      dropDatabase = db.drop;
    }
    server = await startServe(env);
    const made = await send(`${server.url}/admin/v1/keys`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'edge-process' }),
    });
    ({ key } = JSON.parse(made.text) as { key: string });
  });

  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
    await dropDatabase();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints no Fastify deprecation warning at start', () => {
    expect(server!.stderr()).not.toContain('FSTDEP');
  });

  /** Ten uploads of an 8 MB chat body with the openai SDK, one after another: what each ended with. */
  async function tenUploads(apiKey: string): Promise<string[]> {
    const client = new OpenAI({ apiKey, baseURL: `${server!.url}/v1`, maxRetries: 0 });
    const content = 'a'.repeat(8 * MB);
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 10; attempt++) {
      const failure = await client.chat.completions
        .create({ model: 'qwen', messages: [{ role: 'user', content }] })
        .then(
          () => undefined,
          (err: unknown) => err as InstanceType<typeof OpenAI.APIError>,
        );
      outcomes.push(`${failure?.constructor.name} ${failure?.status} ${failure?.code}`);
    }
    return outcomes;
  }

  it('the openai SDK reads 413 request_too_large for an oversize body, 10 times of 10', async () => {
    expect(await tenUploads(key)).toEqual(Array(10).fill(expect.stringMatching(/ 413 request_too_large$/)));
  });

  it('the openai SDK without a valid key reads its 401 for a large body, 10 times of 10', async () => {
    expect(await tenUploads('sk-wrong-0123456789')).toEqual(
      Array(10).fill('AuthenticationError 401 invalid_api_key'),
    );
  });
});
