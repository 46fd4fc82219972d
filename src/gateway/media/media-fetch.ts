// Downloads one media URL for the gateway (media.remoteUrls: fetch), through the residency connector: the
// host is resolved once, every address checked (media-policy.ts), and the socket opened to exactly the
// checked address; a refusal opens no socket. http and https only, one GET, no redirects (a 3xx is refused),
// the size limit enforced on Content-Length and again while streaming (the download stops as soon as it is
// exceeded), the content type checked before a byte of the body is read, and one deadline for all of it.
// Failures are a fixed reason, never the URL or a byte of the media; the bytes live only in memory.
import { Client } from 'undici';
import {
  residencyConnector,
  type ResidencyHooks,
  type ResidencyViolation,
} from '../../residency/residency-connector';
import type { ResidencyPolicy } from '../../residency/residency-guard';
import type { FetchedMedia, MediaKind } from './media-urls';

export const MEDIA_FETCH_FAILURES = [
  'not_allowed',
  'redirect',
  'status',
  'content_type',
  'too_large',
  'timeout',
  'connection',
] as const;
export type MediaFetchFailure = (typeof MEDIA_FETCH_FAILURES)[number];

export class MediaFetchError extends Error {
  constructor(readonly reason: MediaFetchFailure) {
    super(`media fetch failed: ${reason}`);
    this.name = 'MediaFetchError';
  }
}

export interface MediaFetchOptions {
  /** Where the fetch of a URL with this host may connect. */
  policy(host: string): ResidencyPolicy;
  maxBytes: number;
  /** The whole fetch: connect, headers and body. */
  timeoutMs: number;
  /** The request's deadline (all its media together). */
  signal: AbortSignal;
  /** Every residency refusal (the connector's report: reason and family, never the URL). */
  onViolation(violation: ResidencyViolation): void;
  hooks?: Pick<ResidencyHooks, 'resolve' | 'geo'>;
}

/** `type/subtype` with the characters RFC 6838 allows; anything else could not go into a data: URI. */
const CONTENT_TYPE = /^(image|audio|video)\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;
const ACCEPTED: Readonly<Record<MediaKind, readonly string[]>> = {
  image: ['image'],
  audio: ['audio'],
  video: ['video'],
  image_or_audio: ['image', 'audio'],
};
const ACCEPT_HEADER: Readonly<Record<MediaKind, string>> = {
  image: 'image/*',
  audio: 'audio/*',
  video: 'video/*',
  image_or_audio: 'image/*, audio/*',
};
/** Name-resolution failures look like refusals, so a client cannot probe which internal names exist. */
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);

export async function fetchMedia(
  url: string,
  kind: MediaKind,
  options: MediaFetchOptions,
): Promise<FetchedMedia> {
  const target = parseUrl(url);
  let refused = false;
  const connect = residencyConnector(
    { id: 'media', ...options.policy(target.hostname.replace(/^\[(.*)\]$/, '$1')) },
    {
      timeout: options.timeoutMs,
      ...options.hooks,
      onViolation: (violation) => {
        refused = true;
        // The resolved address would say where the client's URL points: only the reason and family go on.
        const { reason, family } = violation;
        options.onViolation({ upstream: 'media', reason, ...(family ? { family } : {}) });
      },
    },
  );
  const client = new Client(target.origin, {
    connect,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  try {
    const res = await client.request({
      method: 'GET',
      path: `${target.pathname}${target.search}`,
      headers: { accept: ACCEPT_HEADER[kind] },
      signal: options.signal,
    });
    try {
      const contentType = checkHead(res.statusCode, res.headers, kind, options.maxBytes);
      return { contentType, bytes: await readAtMost(res.body, options.maxBytes) };
    } finally {
      // A refused body is not read: destroying it ends the download (its abort error has no one to tell).
      res.body.on('error', () => undefined).destroy();
    }
  } catch (err) {
    if (err instanceof MediaFetchError) throw err;
    if (refused || DNS_CODES.has((err as { code?: string }).code ?? ''))
      throw new MediaFetchError('not_allowed');
    if (options.signal.aborted || (err as { code?: string }).code?.includes('TIMEOUT'))
      throw new MediaFetchError('timeout');
    throw new MediaFetchError('connection');
  } finally {
    await client.destroy().catch(() => undefined);
  }
}

function parseUrl(url: string): URL {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new MediaFetchError('not_allowed');
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new MediaFetchError('not_allowed');
  return target;
}

/** The status, type and declared length, checked before any of the body is read; returns the type. */
function checkHead(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  kind: MediaKind,
  maxBytes: number,
): string {
  if (status >= 300 && status < 400) throw new MediaFetchError('redirect');
  if (status < 200 || status >= 300) throw new MediaFetchError('status');
  const raw = headers['content-type'];
  const contentType = (typeof raw === 'string' ? raw : '').split(';')[0]!.trim().toLowerCase();
  const major = CONTENT_TYPE.exec(contentType)?.[1];
  if (!major || !ACCEPTED[kind].includes(major)) throw new MediaFetchError('content_type');
  const declared = headers['content-length'];
  if (typeof declared === 'string' && Number(declared) > maxBytes) throw new MediaFetchError('too_large');
  return contentType;
}

async function readAtMost(body: AsyncIterable<Buffer>, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > maxBytes) throw new MediaFetchError('too_large'); // the caller destroys the body
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}
