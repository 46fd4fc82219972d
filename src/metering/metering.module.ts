import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { KeyCacheMetrics } from './key-cache-metrics';
import { MeteringService } from './metering.service';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { RateLimits } from './rate-limits/rate-limits.service';
import { UsageRetention } from './usage-retention.service';
import { UsageWriter } from './usage-writer';
import { UsageController } from './usage.controller';
import { UsageService } from './usage.service';

@Module({
  imports: [AuditModule, AuthModule],
  controllers: [MetricsController, UsageController],
  providers: [
    KeyCacheMetrics,
    MeteringService,
    MetricsService,
    RateLimits,
    UsageWriter,
    UsageRetention,
    UsageService,
  ],
  exports: [MeteringService, MetricsService, RateLimits, UsageWriter],
})
export class MeteringModule {}
