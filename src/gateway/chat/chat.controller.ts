import { Body, Controller, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Roles } from '../../core/roles.decorator';
import { BodyValidationPipe } from '../../core/validation.pipe';
import { ModelRegistry } from '../../models/model-registry.service';
import { AutoRouter } from './auto-router.service';
import { AUTO_MODEL } from './routing-decision';
import { ChatCompletionService } from './chat-completion.service';
import { ChatCompletionDto, chatCompletionSchema } from './chat-completion.dto';

@Controller('v1')
@Roles('user', 'admin')
export class ChatController {
  constructor(
    @Inject(ModelRegistry) private readonly models: ModelRegistry,
    @Inject(ChatCompletionService) private readonly chat: ChatCompletionService,
    @Inject(AutoRouter) private readonly autoRouter: AutoRouter,
  ) {}

  @Post('chat/completions')
  @HttpCode(200)
  async create(
    @Body(new BodyValidationPipe(ChatCompletionDto, { schema: chatCompletionSchema }))
    body: ChatCompletionDto,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (body.model === AUTO_MODEL) return this.autoRouter.complete(body, req, reply);
    const model = this.models.resolveFor(body.model, req.principal!.allowedModels, 'chat');
    await this.chat.complete(model, body, req, reply);
  }
}
