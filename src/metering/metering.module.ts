import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { MeteringService } from './metering.service';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { RateLimitInterceptor } from './rate-limits/rate-limit.interceptor';
import { RateLimits } from './rate-limits/rate-limits.service';
import { UsageRetention } from './usage-retention.service';
import { UsageWriter } from './usage-writer';
import { UsageController } from './usage.controller';
import { UsageService } from './usage.service';

@Global()
@Module({
  controllers: [MetricsController, UsageController],
  providers: [
    MeteringService,
    MetricsService,
    RateLimits,
    UsageWriter,
    UsageRetention,
    UsageService,
    // Interceptors run after every guard, so AuthGuard has named the caller before limits are checked.
    { provide: APP_INTERCEPTOR, useClass: RateLimitInterceptor },
  ],
  exports: [MeteringService, MetricsService, RateLimits, UsageWriter],
})
export class MeteringModule {}
