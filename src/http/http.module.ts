// What every HTTP request passes through Nest, wired in one place: the guards, in their order
// (request-guards.ts), the exception filter (the one error path), and the sinks of the record made when a
// request ends, in theirs. Fastify-level wiring (body parsers, request id, the recorder's hook on the
// response) is installed on the server by installHttp (http-server.ts) before the routes are added.
import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { AuthGuard } from '../auth/auth.guard';
import { AuthModule } from '../auth/auth.module';
import { GatewayModule } from '../gateway/gateway.module';
import { MeteringModule } from '../metering/metering.module';
import { MetricsService } from '../metering/metrics.service';
import { RateLimitGuard } from '../metering/rate-limits/rate-limit.guard';
import { RateLimits } from '../metering/rate-limits/rate-limits.service';
import { RequestRecorder } from '../metering/request-recorder';
import { UsageJournal } from '../metering/usage-journal';
import { AccessLog } from '../telemetry/access-log';
import { AppLogger } from '../telemetry/logger';
import { Telemetry } from '../telemetry/telemetry.service';
import { UpstreamLatency } from '../upstream/upstream-latency';
import { HunzeConfig } from '../config/hunze-config';
import { ApiExceptionFilter } from './http-setup';
import { RequestGuards } from './request-guards';

/**
 * The sinks of every request's record, in their order: the usage journal before the response's last bytes
 * (a crash right after the answer keeps the row); after them the access log, Prometheus, OpenTelemetry, the
 * rate limiter's token charge and the upstream latency average that model "auto" reads.
 */
function requestRecorder(
  journal: UsageJournal,
  log: AppLogger,
  prometheus: MetricsService,
  telemetry: Telemetry,
  limits: RateLimits,
  latency: UpstreamLatency,
): RequestRecorder {
  return new RequestRecorder(journal, [new AccessLog(log), prometheus, telemetry, limits, latency], log);
}

@Module({
  imports: [MeteringModule, GatewayModule, AuthModule],
  providers: [
    AuthGuard,
    RateLimitGuard,
    { provide: APP_GUARD, useClass: RequestGuards },
    {
      provide: APP_FILTER,
      inject: [AppLogger, HunzeConfig],
      useFactory: (log: AppLogger, config: HunzeConfig) =>
        new ApiExceptionFilter({ log, bodyLimitMb: config.file.server.bodyLimitMb }),
    },
    {
      provide: RequestRecorder,
      inject: [UsageJournal, AppLogger, MetricsService, Telemetry, RateLimits, UpstreamLatency],
      useFactory: requestRecorder,
    },
  ],
  exports: [RequestRecorder],
})
export class HttpModule {}
