import { Body, Controller, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { Answer } from '../../core/answer';
import type { CallContext } from '../../core/call-context';
import { AlsoAcceptKeyFrom, Roles } from '../../core/roles.decorator';
import { BodyValidationPipe } from '../../core/validation.pipe';
import { GenerateContentDto } from './generate-content.dto';
import type { ErrorBodyConfig } from '../../core/http-contracts';
import { toGoogleError } from './gemini-errors';
import { GeminiService } from './gemini.service';
import { Call } from '../relay/call-context';

/**
 * Gemini-compatible generation: `POST /v1beta/models/{model}:generateContent` and `:streamGenerateContent`
 * (also under `/v1`, the Google SDK's default API version). Model ids contain slashes, so the whole rest of
 * the path is `{model}:{method}`. Keys also come as `x-goog-api-key` or `?key=`. Errors take Google's shape
 * (src/gateway/gemini/gemini-errors.ts) on the one error path, body-parser errors included.
 */
@Controller(['v1beta', 'v1'])
@Roles('user', 'admin')
@AlsoAcceptKeyFrom('x-goog-api-key', 'query-key')
export class GeminiController {
  constructor(@Inject(GeminiService) private readonly gemini: GeminiService) {}

  @Post('models/*')
  @RouteConfig({ errorBody: toGoogleError } satisfies ErrorBodyConfig)
  @HttpCode(200)
  async generate(
    @Param('*') path: string,
    @Query('alt') alt: unknown,
    @Body(new BodyValidationPipe(GenerateContentDto)) body: GenerateContentDto,
    @Call() call: CallContext,
  ): Promise<Answer> {
    return this.gemini.generate(path, body, alt === 'sse' ? 'sse' : 'json-array', call);
  }
}
