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
import { UsageModule } from './usage.module';

@Module({
  imports: [AuditModule, AuthModule, UsageModule],
  controllers: [MetricsController, UsageController],
  providers: [KeyCacheMetrics, MeteringService, MetricsService, RateLimits, UsageWriter, UsageRetention],
  exports: [MeteringService, MetricsService, RateLimits, UsageWriter],
})
export class MeteringModule {}
