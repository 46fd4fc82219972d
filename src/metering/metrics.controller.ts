import { Controller, Get, Inject } from '@nestjs/common';
import { Answer } from '../core/answer';
import { Public } from '../core/roles.decorator';
import { ApiError } from '../core/errors';
import { HunzeConfig } from '../config/hunze-config';
import { MetricsService } from './metrics.service';

/** `GET /metrics` in the Prometheus text format; no key (scraped from the management network). */
@Controller()
@Public()
export class MetricsController {
  constructor(
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(HunzeConfig) private readonly config: HunzeConfig,
  ) {}

  @Get('metrics')
  async scrape(): Promise<Answer> {
    if (!this.config.file.telemetry.prometheus) throw new ApiError('not_found');
    const { registry } = this.metrics;
    return Answer.bytes(await registry.metrics(), registry.contentType);
  }
}
