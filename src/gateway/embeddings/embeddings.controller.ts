import { Body, Controller, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Roles } from '../../core/roles.decorator';
import { BodyValidationPipe } from '../../core/validation.pipe';
import { ModelRegistry } from '../../models/model-registry.service';
import { CreateEmbeddingDto, createEmbeddingSchema } from './create-embedding.dto';
import { embeddingInputs } from './embedding-input';
import { EmbeddingsService } from './embeddings.service';

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
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const inputs = embeddingInputs(body.input);
    const model = this.models.resolveFor(body.model, req.principal!.allowedModels, 'embedding');
    const answer = await this.embeddings.create(body, inputs, model, req, reply);
    await reply.status(200).header('content-type', 'application/json').send(JSON.stringify(answer));
  }
}
