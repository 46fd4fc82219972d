import { Controller, Get, Headers, Inject, Param } from '@nestjs/common';
import { Answer } from '../core/answer';
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
  index(@Headers('if-none-match') ifNoneMatch: string | undefined): Answer {
    return this.answer('index.html', ifNoneMatch);
  }

  @Get(':file')
  file(@Param('file') file: string, @Headers('if-none-match') ifNoneMatch: string | undefined): Answer {
    return this.answer(file, ifNoneMatch);
  }

  private answer(name: string, ifNoneMatch: string | undefined): Answer {
    const asset = this.assets.get(name);
    if (!asset) throw new ApiError('not_found');
    const headers = { ...CONSOLE_HEADERS, etag: asset.etag };
    if (ifNoneMatch === asset.etag) return Answer.empty(304, headers);
    return Answer.bytes(asset.body, asset.contentType, { headers });
  }
}
