import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { Answer } from '../../core/answer';
import type { CallContext } from '../../core/call-context';
import { Roles } from '../../core/roles.decorator';
import { BodyValidationPipe } from '../../core/validation.pipe';
import { ModelRegistry } from '../../models/model-registry.service';
import { CreateEmbeddingDto, createEmbeddingSchema } from './create-embedding.dto';
import { embeddingInputs } from './embedding-input';
import { EmbeddingsService } from './embeddings.service';
import { Call } from '../relay/call-context';

@Controller('v1')
@Roles('user', 'admin')
export class EmbeddingsController {
  constructor(
    @Inject(ModelRegistry) private readonly models: ModelRegistry,
    @Inject(EmbeddingsService) private readonly embeddings: EmbeddingsService,
  ) {}

  @Post('embeddings')
  @HttpCode(200)
  async create(
    @Body(new BodyValidationPipe(CreateEmbeddingDto, { schema: createEmbeddingSchema }))
    body: CreateEmbeddingDto,
    @Call() call: CallContext,
  ): Promise<Answer> {
    const inputs = embeddingInputs(body.input);
    const model = this.models.resolveFor(body.model, call.principal.allowedModels, 'embedding');
    return Answer.json(await this.embeddings.create(body, inputs, model, call));
  }
}
