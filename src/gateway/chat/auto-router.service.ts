// Model "auto" on chat: ranks the chat models the key may use by the client's preference (`routing.prefer`:
// quality, speed or cost; default cost, as ApeKey documents "auto") from the per-model hints in config
// (`quality` rank, higher is better; `costPerMTokens`) and the live latency of their upstreams, sends to the
// best, and unless `routing.fallback` is false tries the next-best model once when the first fails before any
// byte was sent.
import { Inject, Injectable } from '@nestjs/common';
import type { Answer } from '../../core/answer';
import type { CallContext } from '../../core/call-context';
import { ApiError } from '../../core/errors';
import { ModelRegistry, type ResolvedModel } from '../../models/model-registry.service';
import { AUTO_MODEL, type RoutingDecision } from './routing-decision';
import { ChatCompletionService } from './chat-completion.service';
import type { ChatCompletionDto } from './chat-completion.dto';
import { UpstreamLatency } from '../../upstream/upstream-latency';
import { withFallback } from '../../upstream/policies';
import { UpstreamPools } from '../../upstream/upstream-pools.service';

export const PREFERENCES = ['quality', 'speed', 'cost'] as const;
export type Preference = (typeof PREFERENCES)[number];

export interface Candidate {
  model: ResolvedModel;
  available: boolean;
  quality: number;
  latencyMs: number | undefined;
  cost: number;
}

/** `routing` from the request body: checked here, since it is ours and not part of the OpenAI schema. */
export function parseRouting(value: unknown): { prefer: Preference; fallback: boolean } {
  if (value === undefined || value === null) return { prefer: 'cost', fallback: true };
  if (typeof value !== 'object' || Array.isArray(value))
    throw new ApiError('invalid_request_error', { param: 'routing', reason: 'must be an object' }, 'routing');
  const { prefer = 'cost', fallback = true } = value as { prefer?: unknown; fallback?: unknown };
  if (!PREFERENCES.includes(prefer as Preference))
    throw new ApiError(
      'invalid_request_error',
      { param: 'routing.prefer', reason: 'is not one of the accepted values' },
      'routing.prefer',
    );
  if (typeof fallback !== 'boolean')
    throw new ApiError(
      'invalid_request_error',
      { param: 'routing.fallback', reason: 'must be a boolean' },
      'routing.fallback',
    );
  return { prefer: prefer as Preference, fallback };
}

const byQuality = (a: Candidate, b: Candidate) => b.quality - a.quality;
// Never measured counts as fastest, so a new upstream gets tried and measured.
const byLatency = (a: Candidate, b: Candidate) => (a.latencyMs ?? 0) - (b.latencyMs ?? 0);
const byCost = (a: Candidate, b: Candidate) => a.cost - b.cost;
const ORDER: Readonly<Record<Preference, ((a: Candidate, b: Candidate) => number)[]>> = {
  quality: [byQuality, byLatency, byCost],
  speed: [byLatency, byQuality, byCost],
  cost: [byCost, byQuality, byLatency],
};

@Injectable()
export class AutoRouter {
  constructor(
    @Inject(ModelRegistry) private readonly models: ModelRegistry,
    @Inject(UpstreamPools) private readonly pools: UpstreamPools,
    @Inject(UpstreamLatency) private readonly latency: UpstreamLatency,
    @Inject(ChatCompletionService) private readonly chat: ChatCompletionService,
  ) {}

  async complete(body: ChatCompletionDto & { routing?: unknown }, ctx: CallContext): Promise<Answer> {
    const { prefer, fallback } = parseRouting(body.routing);
    const ranked = this.rank(ctx.principal.allowedModels, prefer);
    const [first, second] = ranked;
    if (!first) throw new ApiError('model_not_allowed', {}, 'model');
    const annotate = body.routing !== undefined;
    const reason = describe(first, prefer);
    // Nothing has reached the client when the first model fails: its answer is sent only once returned.
    return withFallback(
      () => this.chat.complete(first.model, body, ctx, annotate ? decision(first, reason) : undefined),
      fallback && second
        ? (failure) => {
            const why = `${describe(second, prefer)}; fallback after ${first.model.id} failed (${failure.code})`;
            return this.chat.complete(second.model, body, ctx, annotate ? decision(second, why) : undefined);
          }
        : undefined,
      (failure) => failure.status >= 500 && !ctx.signal.aborted,
    );
  }

  /** The chat models the key may use, best first: models with a reachable upstream before the others. */
  rank(allowed: readonly string[] | null, prefer: Preference): Candidate[] {
    const order = ORDER[prefer];
    return this.models
      .all()
      .filter((m) => m.kind === 'chat' && this.models.isAllowed(m, allowed))
      .map((model) => this.candidate(model))
      .map((c, index) => ({ c, index }))
      .sort(
        (a, b) =>
          Number(b.c.available) - Number(a.c.available) ||
          order.reduce((result, compare) => result || compare(a.c, b.c), 0) ||
          a.index - b.index,
      )
      .map(({ c }) => c);
  }

  private candidate(model: ResolvedModel): Candidate {
    const targets = this.pools.candidates(model).filter((t) => t.available);
    const samples = targets.map((t) => this.latency.get(t.id));
    const known = samples.filter((ms): ms is number => ms !== undefined);
    return {
      model,
      available: targets.length > 0,
      quality: model.config.quality ?? 0,
      // The relay sends to the best upstream first; an unmeasured one may be the fastest.
      latencyMs: known.length === samples.length && known.length > 0 ? Math.min(...known) : undefined,
      cost: model.config.costPerMTokens ?? Number.POSITIVE_INFINITY,
    };
  }
}

function describe(c: Candidate, prefer: Preference): string {
  switch (prefer) {
    case 'quality':
      return `prefer quality: quality rank ${c.model.config.quality ?? 'unset'}`;
    case 'speed':
      return `prefer speed: latency ${c.latencyMs === undefined ? 'not yet measured' : `${Math.round(c.latencyMs)} ms`}`;
    case 'cost':
      return `prefer cost: ${c.model.config.costPerMTokens ?? 'unset'} per million tokens`;
  }
}

function decision(c: Candidate, reason: string): RoutingDecision {
  return { original_model: AUTO_MODEL, mapped_model: c.model.id, reason };
}
