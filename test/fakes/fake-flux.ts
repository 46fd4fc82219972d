// Fake FLUX image server exposing an OpenAI-style `POST /v1/images/generations`. Like the real backend it
// always answers `b64_json` (whatever `response_format` asked for) and validates like FastAPI (422 with a
// `detail` list). Images are real, decodable 8x8 PNGs whose colour derives from prompt, seed and index,
// so tests can tell images apart without shipping binary fixtures.
import { createHash } from 'node:crypto';
import type http from 'node:http';
import zlib from 'node:zlib';
import { FakeServerBase, type FakeServerOptions } from './fake-server-base';

export interface FakeFluxOptions extends FakeServerOptions {
  /** Largest accepted `n`; default 4. */
  maxImages?: number;
}

export type FakeFluxMode = 'error';

/** Success body: always b64_json, whatever `response_format` asked for. */
export interface ImagesResponse {
  created: number;
  data: { b64_json: string }[];
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const IMAGE_SIDE = 8;

export class FakeFlux extends FakeServerBase<FakeFluxMode> {
  readonly maxImages: number;

  private constructor(options: FakeFluxOptions) {
    super(options);
    this.maxImages = options.maxImages ?? 4;
  }

  static async start(options: FakeFluxOptions = {}): Promise<FakeFlux> {
    const fake = new FakeFlux(options);
    await fake.listen();
    return fake;
  }

  protected route(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer, path: string): void {
    if (req.method !== 'POST' || path !== '/v1/images/generations') {
      return this.sendJson(res, 404, { detail: 'Not Found' });
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return this.sendJson(res, 422, { detail: [fieldError('json_invalid', [], 'JSON decode error', null)] });
    }
    const request = this.validate(body);
    if ('detail' in request) return this.sendJson(res, 422, request);

    if (this.mode === 'error') {
      return this.sendJson(res, 500, { detail: 'FLUX pipeline failed: CUDA out of memory' });
    }
    const data = Array.from({ length: request.n }, (_, index) => ({
      b64_json: solidPng(`${request.prompt}\u0000${request.seed ?? ''}\u0000${index}`).toString('base64'),
    }));
    const response: ImagesResponse = { created: Math.floor(Date.now() / 1000), data };
    this.sendJson(res, 200, response);
  }

  private validate(body: unknown): { prompt: string; n: number; seed?: number } | { detail: FieldError[] } {
    const errors: FieldError[] = [];
    const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    const { prompt, n = 1, size = '1024x1024', seed } = fields;
    if (typeof prompt !== 'string' || prompt.length === 0) {
      errors.push(fieldError('missing', ['body', 'prompt'], 'Field required', prompt ?? null));
    }
    if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > this.maxImages) {
      errors.push(
        fieldError('less_than_equal', ['body', 'n'], `Input should be between 1 and ${this.maxImages}`, n),
      );
    }
    if (typeof size !== 'string' || !/^\d+x\d+$/.test(size)) {
      errors.push(
        fieldError(
          'string_pattern_mismatch',
          ['body', 'size'],
          "String should match pattern '^\\d+x\\d+$'",
          size,
        ),
      );
    }
    if (seed !== undefined && seed !== null && !Number.isInteger(seed)) {
      errors.push(fieldError('int_type', ['body', 'seed'], 'Input should be a valid integer', seed));
    }
    if (errors.length > 0) return { detail: errors };
    return {
      prompt: prompt as string,
      n: n as number,
      seed: (seed as number | null | undefined) ?? undefined,
    };
  }
}

interface FieldError {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: unknown;
}

function fieldError(type: string, loc: (string | number)[], msg: string, input: unknown): FieldError {
  return { type, loc, msg, input };
}

/** An 8x8 RGB PNG in one colour taken from sha256(key): tiny, valid, deterministic. */
export function solidPng(key: string): Buffer {
  const [r = 0, g = 0, b = 0] = createHash('sha256').update(key, 'utf8').digest();
  // Each scanline: filter type 0 (None) followed by RGB triples.
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(IMAGE_SIDE * 3, Buffer.from([r, g, b]))]);
  const pixels = Buffer.concat(Array.from({ length: IMAGE_SIDE }, () => row));

  const header = Buffer.alloc(13);
  header.writeUInt32BE(IMAGE_SIDE, 0); // width
  header.writeUInt32BE(IMAGE_SIDE, 4); // height
  header.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type 2 (RGB), deflate, no filter, no interlace
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', header),
    pngChunk('IDAT', zlib.deflateSync(pixels)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

// Chunk = length, type, data, CRC-32 over type+data. zlib.crc32 exists from Node 20.15 (engines: >=20.19).
function pngChunk(type: string, data: Buffer): Buffer {
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(typeAndData) >>> 0);
  return Buffer.concat([length, typeAndData, crc]);
}
