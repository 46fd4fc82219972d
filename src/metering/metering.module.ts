import { Global, Module } from '@nestjs/common';
import { MeteringService } from './metering.service';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { RateLimits } from './rate-limits/rate-limits.service';
import { UsageWriter } from './usage-writer';

@Global()
@Module({
  controllers: [MetricsController],
  providers: [MeteringService, MetricsService, RateLimits, UsageWriter],
  exports: [MeteringService, MetricsService, RateLimits, UsageWriter],
})
export class MeteringModule {}
