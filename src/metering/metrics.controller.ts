import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
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
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    if (!this.config.file.telemetry.prometheus) throw new ApiError('not_found');
    const { registry } = this.metrics;
    await reply
      .status(200)
      .header('content-type', registry.contentType)
      .send(await registry.metrics());
  }
}
