// What every HTTP request passes through Nest, wired in one place: the guards, in their order
// (request-guards.ts). Fastify-level wiring (body parsers, request id, the record at the end, the exception
// filter) is installed on the server by configureHttp (http-setup.ts) when the app is created (main.ts).
import { MeteringModule } from '../metering/metering.module';
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard } from '../auth/auth.guard';
import { AuthModule } from '../auth/auth.module';
import { RateLimitGuard } from '../metering/rate-limits/rate-limit.guard';
import { RequestGuards } from './request-guards';

@Module({
  imports: [MeteringModule, AuthModule],
  providers: [AuthGuard, RateLimitGuard, { provide: APP_GUARD, useClass: RequestGuards }],
})
export class HttpModule {}
