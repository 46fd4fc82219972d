import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { GatewayMetrics } from './gateway-metrics';
import { KeyCacheMetrics } from './key-cache-metrics';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { RateLimits } from './rate-limits/rate-limits.service';
import { UsageJournal } from './usage-journal';
import { UsageRetention } from './usage-retention.service';
import { UsageWriter } from './usage-writer';
import { UsageController } from './usage.controller';
import { UsageModule } from './usage.module';

@Module({
  imports: [AuditModule, AuthModule, UsageModule],
  controllers: [MetricsController, UsageController],
  providers: [
    KeyCacheMetrics,
    MetricsService,
    { provide: GatewayMetrics, useExisting: MetricsService },
    RateLimits,
    UsageJournal,
    UsageWriter,
    UsageRetention,
  ],
  exports: [GatewayMetrics, MetricsService, RateLimits, UsageJournal, UsageWriter],
})
export class MeteringModule {}
