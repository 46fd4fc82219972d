import { Controller, Get, Headers, Inject, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Public } from '../core/roles.decorator';
import { ApiError } from '../core/errors';
import { ConsoleAssets } from './console-assets';
import { CONSOLE_HEADERS } from './console-headers';

/**
 * `GET /console` and `GET /console/{file}`: the web console's static files. Public: the page holds no data,
 * it asks the admin API with the key the user signs in with.
 */
@Controller('console')
@Public()
export class ConsoleController {
  constructor(@Inject(ConsoleAssets) private readonly assets: ConsoleAssets) {}

  @Get()
  index(
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.send('index.html', ifNoneMatch, reply);
  }

  @Get(':file')
  file(
    @Param('file') file: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.send(file, ifNoneMatch, reply);
  }

  private async send(name: string, ifNoneMatch: string | undefined, reply: FastifyReply): Promise<void> {
    const asset = this.assets.get(name);
    if (!asset) throw new ApiError('not_found');
    void reply.headers(CONSOLE_HEADERS).header('etag', asset.etag);
    if (ifNoneMatch === asset.etag) {
      await reply.status(304).send();
      return;
    }
    await reply.status(200).header('content-type', asset.contentType).send(asset.body);
  }
}
