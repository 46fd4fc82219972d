// What the gateway does with media a request references by URL (media.remoteUrls): `refuse` answers 400
// remote_media_refused naming the first such field; `fetch` downloads each through the residency guard
// (media-fetch.ts) and puts the bytes into the body as a data: URI (inline data on Gemini) before the body
// goes upstream, so no GPU host ever fetches anything. A file_id is refused either way (no file store).
// Every API that accepts media calls `inline` on its parsed body before translating or relaying it.
// Media bytes are content: they are never logged or stored; only the outcome of each fetch is counted.
import { Inject, Injectable } from '@nestjs/common';
import { residencyEvents, type ResidencyViolation } from '../../residency/residency-connector';
import { expandRegions } from '../../core/regions';
import { ApiError } from '../../core/errors';
import { HunzeConfig } from '../../config/hunze-config';
import type { MediaConfig } from '../../config/config.schema';
import { GatewayMetrics } from '../../metering/gateway-metrics';
import { AppLogger } from '../../telemetry/logger';
import { fetchMedia, MediaFetchError, type MediaFetchFailure, type MediaFetchOptions } from './media-fetch';
import { mediaAllowances, mediaPolicy } from './media-policy';
import { findMediaUrls, type MediaApi } from './media-urls';

/** What the client is told, per failure: our words, never the URL or the media. */
const FAILURE_TEXT: Readonly<Record<MediaFetchFailure, string>> = {
  not_allowed: 'its host is not allowed (outside the allowed regions, not listed, or not found)',
  redirect: 'the server answered with a redirect, which is not followed',
  status: 'the server did not answer with success',
  content_type: 'its content type is not an accepted media type',
  too_large: 'it is larger than the configured limit',
  timeout: 'it did not arrive in time',
  connection: 'the connection failed',
};

@Injectable()
export class RemoteMedia {
  private readonly media: MediaConfig;
  private readonly fetchOptions: Omit<MediaFetchOptions, 'signal'>;

  constructor(
    @Inject(HunzeConfig) config: HunzeConfig,
    @Inject(GatewayMetrics) private readonly metrics: GatewayMetrics,
    @Inject(AppLogger) log: AppLogger,
  ) {
    this.media = config.file.media;
    const allowances = mediaAllowances(this.media.allowedHosts);
    const countries = expandRegions(config.file.residency.allowedRegions);
    this.fetchOptions = {
      policy: (host) => mediaPolicy(host, allowances, countries),
      maxBytes: this.media.maxBytes,
      timeoutMs: this.media.timeoutMs,
      onViolation: (violation: ResidencyViolation) => {
        log.warn('residency_violation', { ...violation });
        residencyEvents.publish(violation); // audited like every other refusal
      },
    };
  }

  /**
   * Refuses, or replaces with the fetched media, every media URL in a parsed request body of `api`, in place.
   * A body without any costs one scan of its messages.
   */
  async inline(api: MediaApi, body: unknown): Promise<void> {
    const found = findMediaUrls(api, body);
    if (found.length === 0) return;
    const deadline = this.media.remoteUrls === 'fetch' ? AbortSignal.timeout(this.media.timeoutMs) : null;
    for (const reference of found) {
      if (reference.reference === 'file_id')
        throw new ApiError('file_reference_unsupported', {}, reference.path);
      if (!deadline) throw new ApiError('remote_media_refused', {}, reference.path);
      try {
        reference.replace(
          await fetchMedia(reference.url, reference.kind, { ...this.fetchOptions, signal: deadline }),
        );
        this.metrics.mediaFetched('ok');
      } catch (err) {
        if (!(err instanceof MediaFetchError)) throw err;
        this.metrics.mediaFetched(err.reason);
        throw new ApiError(
          'remote_media_unavailable',
          { param: reference.path, reason: FAILURE_TEXT[err.reason] },
          reference.path,
        );
      }
    }
  }
}
