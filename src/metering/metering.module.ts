import { Global, Module } from '@nestjs/common';
import { MeteringService } from './metering.service';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

@Global()
@Module({
  controllers: [MetricsController],
  providers: [MeteringService, MetricsService],
  exports: [MeteringService, MetricsService],
})
export class MeteringModule {}
