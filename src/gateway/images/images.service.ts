// POST /v1/images/generations beyond validation: one relay call to the FLUX backend (always b64_json), then
// either the base64 images as they came, or, for `url`, the decoded images kept in the memory-only
// ImageStore (this process's memory, or Redis shared by the replicas) and a link to
// GET /v1/images/files/{id} that only the creating key's account can fetch.
import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { CallContext } from '../../core/call-context';
import type { Principal } from '../../core/principal';
import type { ResolvedModel } from '../../models/model-registry.service';
import { FLUX_IMAGES, imageContentType } from '../../upstream/adapters/flux-images.adapter';
import type { CreateImageDto } from './create-image.dto';
import { ImageStore } from './image-store';
import { Relay } from '../../upstream/relay';

export const IMAGE_FILES_PATH = '/v1/images/files';

export interface ImagesResponse {
  created: number;
  data: ({ url: string } | { b64_json: string })[];
}

@Injectable()
export class ImagesService {
  constructor(
    @Inject(Relay) private readonly relay: Relay,
    @Inject(ImageStore) private readonly store: ImageStore,
  ) {}

  /** `origin`: where the client reached us (publicOrigin), for `url` answers. */
  async generate(
    body: CreateImageDto,
    model: ResolvedModel,
    ctx: CallContext,
    origin: string,
  ): Promise<ImagesResponse> {
    const answer = await this.relay.through(FLUX_IMAGES, body, model, ctx);
    if (body.response_format === 'b64_json') {
      return { created: answer.created, data: answer.images.map((image) => ({ b64_json: image.b64 })) };
    }
    const owner = ownerOf(ctx.principal);
    const data = await Promise.all(
      answer.images.map(async (image) => {
        const bytes = Buffer.from(image.b64, 'base64');
        const id = await this.store.put(owner, { bytes, contentType: imageContentType(bytes) });
        return { url: `${origin}${IMAGE_FILES_PATH}/${id}` };
      }),
    );
    return { created: answer.created, data };
  }
}

/** Whose images these are: the key's account; keys without one (break-glass admin) own theirs alone. */
export function ownerOf(principal: Principal): string {
  return principal.accountId !== null ? `account:${principal.accountId}` : `key:${principal.keyId}`;
}

const HOST = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The origin the client reached us at, so the URL works from where it called: the Host header (checked, so
 * it cannot inject anything into the URL) and the scheme a TLS-terminating proxy (HAProxy) reports.
 */
export function publicOrigin(req: FastifyRequest): string {
  const forwarded = req.headers['x-forwarded-proto'];
  const proto = typeof forwarded === 'string' ? forwarded.split(',')[0]!.trim().toLowerCase() : '';
  const scheme = proto === 'https' || proto === 'http' ? proto : req.protocol;
  const host = req.headers.host;
  if (typeof host === 'string' && HOST.test(host)) return `${scheme}://${host}`;
  const address = req.socket.localAddress ?? '127.0.0.1';
  const hostPart = address.includes(':') ? `[${address}]` : address;
  return `${scheme}://${hostPart}:${req.socket.localPort ?? 80}`;
}
