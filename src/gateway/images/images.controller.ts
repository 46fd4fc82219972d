import { Body, Controller, Get, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Roles } from '../../core/roles.decorator';
import { ApiError } from '../../core/errors';
import { BodyValidationPipe } from '../../core/validation.pipe';
import { ModelRegistry } from '../../models/model-registry.service';
import { CreateImageDto } from './create-image.dto';
import { ImageStore } from './image-store';
import { ImagesService, ownerOf } from './images.service';

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
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const model = this.models.resolveFor(body.model, req.principal!.allowedModels, 'image');
    const answer = await this.images.generate(body, model, req, reply);
    await reply.status(200).header('content-type', 'application/json').send(JSON.stringify(answer));
  }

  /** An image kept for a `url` answer. Unknown, expired and another account's images are the same 404. */
  @Get('files/:id')
  async file(@Param('id') id: string, @Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const image = IMAGE_ID.test(id) ? await this.store.get(id, ownerOf(req.principal!)) : undefined;
    if (!image) throw new ApiError('not_found');
    await reply
      .status(200)
      .headers({
        'content-type': image.contentType,
        'content-length': String(image.bytes.length),
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      })
      .send(image.bytes);
  }
}
