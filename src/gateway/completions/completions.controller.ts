import { Body, Controller, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Roles } from '../../core/roles.decorator';
import { BodyValidationPipe } from '../../core/validation.pipe';
import { ModelRegistry } from '../../models/model-registry.service';
import { CompletionDto, completionSchema } from './completion.dto';
import { generationCall } from '../relay/generation-call';
import { Relay } from '../relay/relay.service';

/** Legacy text completions, served by the chat models' upstreams (vLLM serves both routes). */
@Controller('v1')
@Roles('user', 'admin')
export class CompletionsController {
  constructor(
    @Inject(ModelRegistry) private readonly models: ModelRegistry,
    @Inject(Relay) private readonly relay: Relay,
  ) {}

  @Post('completions')
  @HttpCode(200)
  async create(
    @Body(new BodyValidationPipe(CompletionDto, { schema: completionSchema })) body: CompletionDto,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const model = this.models.resolveFor(body.model, req.principal!.allowedModels, 'chat');
    await this.relay.forward(generationCall('/completions', body, model), req, reply);
  }
}
