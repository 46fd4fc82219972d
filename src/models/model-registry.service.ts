// The models from config, reachable by id or alias. Built once at boot; lookups are a Map read.
import { Inject, Injectable } from '@nestjs/common';
import type { ModelConfig, ModelKind, UpstreamConfig } from '../config/config.schema';
import { HunzeConfig } from '../config/hunze-config';
import { ApiError } from '../core/errors';

export interface ResolvedModel {
  readonly id: string;
  readonly kind: ModelKind;
  readonly aliases: readonly string[];
  readonly upstreams: readonly UpstreamConfig[];
  readonly config: ModelConfig;
}

@Injectable()
export class ModelRegistry {
  private readonly byName = new Map<string, ResolvedModel>();
  private readonly models: ResolvedModel[];

  constructor(@Inject(HunzeConfig) config: HunzeConfig) {
    const upstreams = new Map(config.file.upstreams.map((u) => [u.id, u]));
    this.models = config.file.models.map((m) => ({
      id: m.id,
      kind: m.kind,
      aliases: m.aliases,
      // config validation guarantees every reference exists
      upstreams: m.upstreams.map((id) => upstreams.get(id)!),
      config: m,
    }));
    for (const model of this.models) {
      for (const name of [model.id, ...model.aliases]) this.byName.set(name, model);
    }
  }

  resolve(name: string): ResolvedModel | undefined {
    return this.byName.get(name);
  }

  all(): readonly ResolvedModel[] {
    return this.models;
  }

  /**
   * The model a request may use: exists (404 model_not_found), is allowed for the key (403), and serves
   * the endpoint's kind (400 wrong_model_kind).
   */
  resolveFor(name: string, allowed: readonly string[] | null, kind: ModelKind): ResolvedModel {
    const model = this.byName.get(name);
    if (!model) throw new ApiError('model_not_found', {}, 'model');
    if (!this.isAllowed(model, allowed)) throw new ApiError('model_not_allowed', {}, 'model');
    if (model.kind !== kind)
      throw new ApiError('wrong_model_kind', { kind: model.kind, needed: kind }, 'model');
    return model;
  }

  /** A key's allow-list may name ids or aliases; either grants the model. */
  isAllowed(model: ResolvedModel, allowed: readonly string[] | null): boolean {
    if (allowed === null) return true;
    return allowed.some((name) => this.byName.get(name) === model);
  }
}
