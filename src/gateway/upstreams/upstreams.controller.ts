import { Controller, Get, Inject } from '@nestjs/common';
import { Roles } from '../../core/roles.decorator';
import { HunzeConfig } from '../../config/hunze-config';
import { toUpstreamStatus, type UpstreamStatusDto } from './upstream-status.dto';
import { UpstreamPools } from '../../upstream/upstream-pools.service';

/** `GET /admin/v1/upstreams`: every configured upstream, its availability and its latest residency check. */
@Controller('admin/v1/upstreams')
export class UpstreamsController {
  constructor(
    @Inject(UpstreamPools) private readonly pools: UpstreamPools,
    @Inject(HunzeConfig) private readonly config: HunzeConfig,
  ) {}

  @Get()
  @Roles('admin', 'dpo')
  list(): { object: 'list'; data: UpstreamStatusDto[] } {
    const models = this.config.file.models;
    return { object: 'list', data: this.pools.all().map((target) => toUpstreamStatus(target, models)) };
  }
}
