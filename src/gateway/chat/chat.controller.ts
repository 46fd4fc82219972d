import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import type { Answer } from '../../core/answer';
import type { CallContext } from '../../core/call-context';
import { Roles } from '../../core/roles.decorator';
import { BodyValidationPipe } from '../../core/validation.pipe';
import { ModelRegistry } from '../../models/model-registry.service';
import { AutoRouter } from './auto-router.service';
import { AUTO_MODEL } from './routing-decision';
import { ChatCompletionService } from './chat-completion.service';
import { ChatCompletionDto, chatCompletionSchema } from './chat-completion.dto';
import { Call } from '../relay/call-context';

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
    @Call() call: CallContext,
  ): Promise<Answer> {
    if (body.model === AUTO_MODEL) return this.autoRouter.complete(body, call);
    const model = this.models.resolveFor(body.model, call.principal.allowedModels, 'chat');
    return this.chat.complete(model, body, call);
  }
}
