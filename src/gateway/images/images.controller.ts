import { Body, Controller, Get, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Answer } from '../../core/answer';
import type { CallContext } from '../../core/call-context';
import { Roles } from '../../core/roles.decorator';
import { ApiError } from '../../core/errors';
import { BodyValidationPipe } from '../../core/validation.pipe';
import { ModelRegistry } from '../../models/model-registry.service';
import { CreateImageDto } from './create-image.dto';
import { ImageStore } from './image-store';
import { ImagesService, ownerOf, publicOrigin } from './images.service';
import { Call } from '../relay/call-context';

const IMAGE_ID = /^[A-Za-z0-9_-]{43}$/;

@Controller('v1/images')
@Roles('user', 'admin')
export class ImagesController {
  constructor(
    @Inject(ModelRegistry) private readonly models: ModelRegistry,
    @Inject(ImagesService) private readonly images: ImagesService,
    @Inject(ImageStore) private readonly store: ImageStore,
  ) {}

  @Post('generations')
  @HttpCode(200)
  async generate(
    @Body(new BodyValidationPipe(CreateImageDto)) body: CreateImageDto,
    @Call() call: CallContext,
    @Req() req: FastifyRequest,
  ): Promise<Answer> {
    const model = this.models.resolveFor(body.model, call.principal.allowedModels, 'image');
    return Answer.json(await this.images.generate(body, model, call, publicOrigin(req)));
  }

  /** An image kept for a `url` answer. Unknown, expired and another account's images are the same 404. */
  @Get('files/:id')
  async file(@Param('id') id: string, @Call() call: CallContext): Promise<Answer> {
    const image = IMAGE_ID.test(id) ? await this.store.get(id, ownerOf(call.principal)) : undefined;
    if (!image) throw new ApiError('not_found');
    const headers = { 'content-length': String(image.bytes.length), 'cache-control': 'no-store' };
    return Answer.bytes(image.bytes, image.contentType, { headers });
  }
}
