import { MeteringModule } from '../metering/metering.module';
import { Module } from '@nestjs/common';
import { GatewayModule } from '../gateway/gateway.module';
import { ModelsModule } from '../models/models.module';
import { HealthController } from './health.controller';

@Module({ imports: [GatewayModule, ModelsModule, MeteringModule], controllers: [HealthController] })
export class HealthModule {}
