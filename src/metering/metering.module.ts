import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { GatewayMetrics } from './gateway-metrics';
import { KeyCacheMetrics } from './key-cache-metrics';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { RateLimits } from './rate-limits/rate-limits.service';
import { UsageJournal } from './usage-journal';
import { UsageRetention } from './usage-retention.service';
import { UsageWriter } from './usage-writer';
import { UsageController } from './usage.controller';
import { UsageService } from './usage.service';

@Module({
  imports: [AuditModule],
  controllers: [MetricsController, UsageController],
  providers: [
    KeyCacheMetrics,
    MetricsService,
    { provide: GatewayMetrics, useExisting: MetricsService },
    RateLimits,
    UsageJournal,
    UsageWriter,
    UsageRetention,
    UsageService,
  ],
  exports: [GatewayMetrics, MetricsService, RateLimits, UsageJournal, UsageWriter],
})
export class MeteringModule {}
