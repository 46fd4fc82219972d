import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import type { Answer } from '../../core/answer';
import type { CallContext } from '../../core/call-context';
import { Roles } from '../../core/roles.decorator';
import { BodyValidationPipe } from '../../core/validation.pipe';
import { ModelRegistry } from '../../models/model-registry.service';
import { CompletionDto, completionSchema } from './completion.dto';
import { VLLM_COMPLETIONS } from '../../upstream/adapters/vllm-generation.adapter';
import { Relay } from '../../upstream/relay';
import { answerOf, Call } from '../relay/call-context';

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
    @Call() call: CallContext,
  ): Promise<Answer> {
    const model = this.models.resolveFor(body.model, call.principal.allowedModels, 'chat');
    return answerOf(await this.relay.send(VLLM_COMPLETIONS.call(body, model), call));
  }
}
