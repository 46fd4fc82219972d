// POST /v1/embeddings beyond validation: inputs are split into batches no larger than the model's upstreams
// accept, each batch goes through the one relay (with its own failover), and the answers are merged back in
// input order with usage summed. One failed batch fails the request with that batch's catalogue error.
import { Inject, Injectable } from '@nestjs/common';
import type { CallContext } from '../../core/call-context';
import { mapInOrder } from '../../core/map-in-order';
import type { ResolvedModel } from '../../models/model-registry.service';
import {
  TeiEmbeddingsAdapter,
  type EmbeddingBatch,
  type EmbeddingBatchResult,
  type EmbeddingData,
} from '../../upstream/adapters/tei-embeddings.adapter';
import type { CreateEmbeddingDto, EncodingFormat } from './create-embedding.dto';
import type { EmbeddingInput, EmbeddingInputs } from './embedding-input';
import { Relay } from '../../upstream/relay';

/** Batches of one request sent at the same time: enough to overlap, few enough to leave room for others. */
export const BATCH_CONCURRENCY = 4;

export interface EmbeddingsResponse {
  object: 'list';
  data: EmbeddingData[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

@Injectable()
export class EmbeddingsService {
  constructor(
    @Inject(Relay) private readonly relay: Relay,
    @Inject(TeiEmbeddingsAdapter) private readonly tei: TeiEmbeddingsAdapter,
  ) {}

  async create(
    body: CreateEmbeddingDto,
    inputs: EmbeddingInputs,
    model: ResolvedModel,
    ctx: CallContext,
  ): Promise<EmbeddingsResponse> {
    const format = body.encoding_format ?? 'float';
    const batches = inputs.single
      ? [{ client: body, input: inputs.items[0]!, count: 1, format }]
      : split(body, inputs.items, await this.tei.maxBatchSize(model), format);
    const results = await mapInOrder(batches, BATCH_CONCURRENCY, (batch) =>
      this.embedBatch(batch, model, ctx),
    );
    const answer = merge(results, model.id);
    // The record holds the whole request's usage, not the last batch's.
    ctx.facts.promptTokens = answer.usage.prompt_tokens;
    ctx.facts.totalTokens = answer.usage.total_tokens;
    ctx.facts.completionTokens = undefined;
    return answer;
  }

  private async embedBatch(
    batch: EmbeddingBatch,
    model: ResolvedModel,
    ctx: CallContext,
  ): Promise<EmbeddingBatchResult> {
    try {
      return await this.relay.through(this.tei, batch, model, ctx);
    } catch (err) {
      this.tei.noteFailure(model, err);
      throw err;
    }
  }
}

function split(
  client: CreateEmbeddingDto,
  items: readonly EmbeddingInput[],
  size: number,
  format: EncodingFormat,
): EmbeddingBatch[] {
  const batches: EmbeddingBatch[] = [];
  for (let start = 0; start < items.length; start += size) {
    const input = items.slice(start, start + size);
    batches.push({ client, input, count: input.length, format });
  }
  return batches;
}

/** One answer from the batches' answers: indexes run across the whole request, usage is the sum. */
function merge(results: readonly EmbeddingBatchResult[], modelId: string): EmbeddingsResponse {
  const data: EmbeddingData[] = [];
  let promptTokens = 0;
  let totalTokens = 0;
  for (const result of results) {
    for (const item of result.data) data.push({ ...item, index: data.length });
    promptTokens += result.promptTokens;
    totalTokens += result.totalTokens;
  }
  return {
    object: 'list',
    data,
    model: modelId,
    usage: { prompt_tokens: promptTokens, total_tokens: totalTokens },
  };
}
