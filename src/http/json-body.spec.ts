// The JSON body reader hands the parser exactly the text Buffer#toString makes of the whole body, however
// its bytes arrive, and refuses as Fastify's own reader does.
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import type { FastifyRequest } from 'fastify';
import { readJsonBody } from './json-body';

interface Read {
  err: (Error & { code?: string; statusCode?: number }) | null;
  text?: string;
}

/** Feeds `chunks` through the reader; resolves with the error it answered or the text it parsed. */
function read(
  chunks: Buffer[],
  { limit = 1024, contentLength }: { limit?: number; contentLength?: number } = {},
) {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const req = {
    routeOptions: { bodyLimit: limit },
    headers: { 'content-length': String(contentLength ?? total) },
  } as unknown as FastifyRequest;
  const payload = new PassThrough();
  return new Promise<Read>((resolve) => {
    const reader = readJsonBody((_req, text, done) => {
      done(null, text);
      resolve({ err: null, text });
    });
    reader(req, payload, (err) => {
      if (err) resolve({ err });
    });
    for (const chunk of chunks) payload.write(chunk);
    payload.end();
  });
}

/** `bytes` cut at `cuts`. */
function cut(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  return [0, ...at].map((from, i) => bytes.subarray(from, at[i] ?? bytes.length));
}

describe('readJsonBody', () => {
  it('decodes any bytes, in any chunks, as Buffer#toString decodes them whole (1,000 runs)', async () => {
    // Bytes of every UTF-8 role: ASCII, lead bytes of each length, continuations, never-valid bytes, a BOM.
    const byte = fc.constantFrom(
      ...[0x22, 0x41, 0x7b, 0xc0, 0xc2, 0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf8, 0xff],
      ...[0x80, 0x82, 0x98, 0x9f, 0xa0, 0xa9, 0xac, 0xbb, 0xbf],
    );
    await fc.assert(
      fc.asyncProperty(fc.array(byte, { maxLength: 40 }), fc.array(fc.nat(40)), async (values, cuts) => {
        const bytes = Buffer.from(values);
        const { err, text } = await read(cut(bytes, cuts));
        expect(err).toBeNull();
        expect(text).toBe(bytes.toString('utf8'));
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses a body announced over the limit before reading it', async () => {
    const { err } = await read([Buffer.from('{}')], { limit: 10, contentLength: 11 });
    expect(err?.code).toBe('FST_ERR_CTP_BODY_TOO_LARGE');
  });

  it('refuses a body that grows over the limit as it arrives', async () => {
    const { err } = await read([Buffer.alloc(8, 0x20), Buffer.alloc(8, 0x20)], {
      limit: 10,
      contentLength: Number.NaN,
    });
    expect(err?.code).toBe('FST_ERR_CTP_BODY_TOO_LARGE');
  });

  it('refuses a body whose length is not its Content-Length', async () => {
    const { err } = await read([Buffer.from('{}')], { contentLength: 3 });
    expect(err?.code).toBe('FST_ERR_CTP_INVALID_CONTENT_LENGTH');
  });

  it('answers a failed stream with its error, as a 400 unless it carries a 4xx or 5xx', async () => {
    const req = {
      routeOptions: { bodyLimit: 1024 },
      headers: {},
    } as unknown as FastifyRequest;
    for (const [statusCode, expected] of [
      [undefined, 400],
      [413, 413],
    ] as const) {
      const payload = new PassThrough();
      const failure = Object.assign(new Error('refused'), { statusCode });
      const answered = new Promise<Read['err']>((resolve) => {
        readJsonBody(() => undefined)(req, payload, (err) => resolve(err));
      });
      payload.destroy(failure);
      const err = await answered;
      expect(err).toBe(failure);
      expect(err?.statusCode).toBe(expected);
    }
  });
});
