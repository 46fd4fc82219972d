import { Controller, Get, Inject, Param, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Roles } from '../core/roles.decorator';
import { ApiError } from '../core/errors';
import { ModelRegistry, type ResolvedModel } from './model-registry.service';

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  kind: string;
  aliases: readonly string[];
  context_length: number | null;
}

/** Models do not change while the process runs; `created` is when this process loaded them. */
const LOADED_AT = Math.floor(Date.now() / 1000);

@Controller('v1/models')
@Roles('user', 'admin')
export class ModelsController {
  constructor(@Inject(ModelRegistry) private readonly registry: ModelRegistry) {}

  /** Lists the models the calling key may use. */
  @Get()
  list(@Req() req: FastifyRequest): { object: 'list'; data: ModelObject[] } {
    const allowed = req.principal?.allowedModels ?? null;
    const data = this.registry
      .all()
      .filter((m) => this.registry.isAllowed(m, allowed))
      .map(toModelObject);
    return { object: 'list', data };
  }

  /**
   * Model ids contain slashes (`Qwen/Qwen3...`), so the whole rest of the path is the id; aliases resolve.
   * The router has already percent-decoded it (`Qwen%2F...` too); decoding again would break on `%`.
   */
  @Get('*')
  get(@Param('*') name: string, @Req() req: FastifyRequest): ModelObject {
    const model = this.registry.resolve(name);
    if (!model || !this.registry.isAllowed(model, req.principal?.allowedModels ?? null)) {
      throw new ApiError('model_not_found', {}, 'model');
    }
    return toModelObject(model);
  }
}

function toModelObject(model: ResolvedModel): ModelObject {
  return {
    id: model.id,
    object: 'model',
    created: LOADED_AT,
    owned_by: 'hunze',
    kind: model.kind,
    aliases: model.aliases,
    context_length: model.config.contextLength ?? null,
  };
}
