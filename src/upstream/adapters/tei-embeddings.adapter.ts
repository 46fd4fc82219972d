// text-embeddings-inference specifics of /v1/embeddings: how many inputs one upstream call may carry (TEI's
// --max-client-batch-size, read from its GET /info once per upstream), the body TEI is sent, and checking
// its answer. TEI 1.9 speaks OpenAI's request and response shapes, so the body is the client's own.
import { Inject, Injectable } from '@nestjs/common';
import { ApiError } from '../../core/errors';
import type { ResolvedModel } from '../../models/model-registry.service';
import { UpstreamPools } from '../upstream-pools.service';
import type { UpstreamTarget } from '../upstream-target';
import type { BackendAdapter, BackendRequest } from './backend-adapter';

/** TEI's default --max-client-batch-size, assumed while an upstream's /info cannot be read. */
export const DEFAULT_MAX_CLIENT_BATCH_SIZE = 32;
/** A failed /info lookup is retried after this long, so a down upstream does not slow every request. */
const LOOKUP_RETRY_MS = 10_000;

/**
 * One input (a text or its token ids) and the encodings answered, as this adapter takes them; the gateway's
 * EmbeddingInput and ENCODING_FORMATS (src/gateway/dto) must fit them, which tsc checks where it calls.
 */
export type EmbeddingInput = string | number[];
export type EncodingFormat = 'float' | 'base64';

export interface EmbeddingData {
  object: 'embedding';
  /** float: the vector; base64: its little-endian float32 bytes. */
  embedding: number[] | string;
  index: number;
}

export interface EmbeddingBatchResult {
  data: EmbeddingData[];
  promptTokens: number;
  totalTokens: number;
}

/** One upstream call's worth of a request: its inputs (one as the client sent it, or a list), counted. */
export interface EmbeddingBatch {
  /** The client's body: its other fields (dimensions, user, ...) go to TEI as they are. */
  client: object;
  input: EmbeddingInput | EmbeddingInput[];
  count: number;
  format: EncodingFormat;
}

interface BatchSizeEntry {
  size: Promise<number>;
  /** Set once the lookup failed: the default stands in until then. */
  retryAt?: number;
}

@Injectable()
export class TeiEmbeddingsAdapter implements BackendAdapter<EmbeddingBatch, EmbeddingBatchResult> {
  readonly path = '/embeddings';
  private readonly batchSizes = new Map<string, BatchSizeEntry>();

  constructor(@Inject(UpstreamPools) private readonly pools: UpstreamPools) {}

  /** The largest batch every upstream of the model accepts: after failover, any of them may get any batch. */
  async maxBatchSize(model: ResolvedModel): Promise<number> {
    const sizes = await Promise.all(model.upstreams.map((u) => this.upstreamBatchSize(u.id)));
    return sizes.length > 0 ? Math.min(...sizes) : DEFAULT_MAX_CLIENT_BATCH_SIZE;
  }

  /** An upstream said 413 (batch too large): it may have restarted with a smaller limit, so ask again. */
  noteFailure(model: ResolvedModel, err: unknown): void {
    if (err instanceof ApiError && err.params.upstreamStatus === 413) {
      for (const upstream of model.upstreams) this.batchSizes.delete(upstream.id);
    }
  }

  /** The JSON body for one batch; `model` becomes the canonical id, the format explicit. */
  request(batch: EmbeddingBatch, model: ResolvedModel): BackendRequest {
    const { client, input, format } = batch;
    return { body: JSON.stringify({ ...client, input, model: model.id, encoding_format: format }) };
  }

  /**
   * Checks one upstream answer for the batch's inputs and returns its embeddings in input order, in the
   * format the client asked for (a TEI older than 1.6 ignores `encoding_format` and always sends floats).
   */
  read(answer: Record<string, unknown>, batch: EmbeddingBatch): EmbeddingBatchResult {
    const { count, format } = batch;
    const data = answer.data;
    if (!Array.isArray(data) || data.length !== count) throw malformed();
    const ordered = new Array<EmbeddingData | undefined>(count);
    for (const item of data as unknown[]) {
      const { index, embedding } = (item ?? {}) as { index?: unknown; embedding?: unknown };
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count)
        throw malformed();
      if (ordered[index]) throw malformed();
      ordered[index] = { object: 'embedding', embedding: inFormat(embedding, format), index };
    }
    const usage = (answer.usage ?? {}) as { prompt_tokens?: unknown; total_tokens?: unknown };
    const promptTokens = tokenCount(usage.prompt_tokens);
    return {
      data: ordered as EmbeddingData[],
      promptTokens,
      totalTokens: usage.total_tokens === undefined ? promptTokens : tokenCount(usage.total_tokens),
    };
  }

  private upstreamBatchSize(id: string): Promise<number> {
    const cached = this.batchSizes.get(id);
    if (cached && (cached.retryAt === undefined || Date.now() < cached.retryAt)) return cached.size;
    const target = this.pools.get(id);
    const entry: BatchSizeEntry = {
      size: (target ? readInfo(target) : Promise.resolve(null)).then((size) => {
        if (size !== null) return size;
        entry.retryAt = Date.now() + LOOKUP_RETRY_MS;
        return DEFAULT_MAX_CLIENT_BATCH_SIZE;
      }),
    };
    this.batchSizes.set(id, entry);
    return entry.size;
  }
}

/** GET /info beside the upstream's /v1 (TEI serves it at its root); null when it cannot be read. */
async function readInfo(target: UpstreamTarget): Promise<number | null> {
  const { timeoutMs } = target.config.healthCheck;
  const headers: Record<string, string> = target.config.apiKey
    ? { authorization: `Bearer ${target.config.apiKey}` } // TEI guards /info with --api-key
    : {};
  try {
    const response = await target.pool.request({
      path: `${target.basePath.replace(/\/v1$/, '')}/info`,
      method: 'GET',
      headers,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      return null;
    }
    // Model metadata, not request content: safe to read.
    const size = ((await response.body.json()) as { max_client_batch_size?: unknown }).max_client_batch_size;
    return typeof size === 'number' && Number.isInteger(size) && size > 0 ? size : null;
  } catch {
    return null;
  }
}

function inFormat(embedding: unknown, format: EncodingFormat): number[] | string {
  if (typeof embedding === 'string') {
    if (format === 'base64') return embedding;
    const bytes = Buffer.from(embedding, 'base64');
    if (bytes.length % 4 !== 0) throw malformed();
    return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
  }
  if (!Array.isArray(embedding) || !embedding.every((v) => typeof v === 'number')) throw malformed();
  if (format === 'float') return embedding;
  const bytes = Buffer.alloc(embedding.length * 4);
  embedding.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return bytes.toString('base64');
}

function tokenCount(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

/** A 2xx answer that is not the embeddings the gateway asked for. */
function malformed(): ApiError {
  return new ApiError('upstream_error', { upstreamStatus: 200 });
}
