// FLUX image server specifics of /v1/images/generations: the body it is sent (always b64_json, whatever the
// client wants: `url` answers are served by the gateway itself) and checking its answer.
import { ApiError } from '../../core/errors';
import type { ResolvedModel } from '../../models/model-registry.service';
import type { BackendAdapter } from './backend-adapter';

/** What FLUX is sent of a /v1/images/generations body (the gateway's CreateImageDto is one). */
export interface FluxImageRequest {
  prompt: string;
  n?: number;
  size?: string;
  /** OpenAI's `quality` (standard, hd, low, medium, high, auto): passed on for servers that map it to steps. */
  quality?: string;
  seed?: number;
}

export interface GeneratedImage {
  /** The image as the backend sent it (base64). */
  b64: string;
}

export interface FluxAnswer {
  created: number;
  images: GeneratedImage[];
}

/** The JSON body for the backend: only the fields FLUX takes. */
export function fluxRequestBody(body: FluxImageRequest, model: ResolvedModel): string {
  return JSON.stringify({
    model: model.id,
    prompt: body.prompt,
    n: body.n ?? 1,
    ...(body.size && body.size !== 'auto' ? { size: body.size } : {}),
    ...(typeof body.quality === 'string' ? { quality: body.quality } : {}),
    ...(typeof body.seed === 'number' ? { seed: body.seed } : {}),
    response_format: 'b64_json',
  });
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The backend's answer, checked: `data` is a non-empty list of base64 images. Anything else is a 502. */
export function readFluxAnswer(answer: Record<string, unknown>, upstreamStatus: number): FluxAnswer {
  const data = answer.data;
  const bad = () => new ApiError('upstream_error', { upstreamStatus });
  if (!Array.isArray(data) || data.length === 0) throw bad();
  const images = data.map((item: unknown) => {
    const b64 = (item as { b64_json?: unknown } | null)?.b64_json;
    if (typeof b64 !== 'string' || b64.length === 0 || !BASE64.test(b64)) throw bad();
    return { b64 };
  });
  const created =
    typeof answer.created === 'number' && Number.isInteger(answer.created)
      ? answer.created
      : Math.floor(Date.now() / 1000);
  return { created, images };
}

/** The content type of decoded image bytes, from their signature (FLUX servers answer PNG; some JPEG/WebP). */
export function imageContentType(bytes: Buffer): string {
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (
    bytes.subarray(0, 4).toString('latin1') === 'RIFF' &&
    bytes.subarray(8, 12).toString('latin1') === 'WEBP'
  )
    return 'image/webp';
  return 'application/octet-stream';
}

/** The FLUX image server behind /v1/images/generations. */
export const FLUX_IMAGES: BackendAdapter<FluxImageRequest, FluxAnswer> = {
  path: '/images/generations',
  request: (body, model) => ({ body: fluxRequestBody(body, model) }),
  read: (answer) => readFluxAnswer(answer, 200),
};
