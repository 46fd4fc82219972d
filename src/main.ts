// Builds and starts the HTTP appliance. `hunze serve` (src/cli.ts) and the e2e tests both come through here.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule, type AppOptions } from './app.module';
import { installCheapAsyncBind } from './core/async-bind';
import { refuseStoresOutOfPlace } from './residency/store-locations';
import { earlyAuthCheck, stampRouteAuthPolicies } from './auth/early-auth';
import { clientErrorHandler } from './http/client-error';
import { ApiExceptionFilter, configureHttp, frameworkErrorHandler } from './http/http-setup';
import { AnswerWritingAdapter } from './http/reply-writer';
import { genRequestId } from './http/request-id';
import { GatewayMetrics } from './metering/gateway-metrics';
import { RequestRecorder } from './metering/request-recorder';

export async function createApp(options: AppOptions): Promise<NestFastifyApplication> {
  installCheapAsyncBind();
  // The database and Redis must be where the config says before anything connects to them.
  await refuseStoresOutOfPlace(options.config, options.logger);
  const { bodyLimitMb, bodyReadTimeoutMs, maxHeaderBytes, maxObjectKeys } = options.config.file.server;
  const adapter = new AnswerWritingAdapter({
    bodyLimit: Math.floor(bodyLimitMb * 1024 * 1024),
    genReqId: genRequestId,
    http: { maxHeaderSize: maxHeaderBytes },
    frameworkErrors: frameworkErrorHandler(bodyLimitMb),
    clientErrorHandler: clientErrorHandler({ maxHeaderBytes, bodyReadTimeoutMs }),
    logger: false,
    routerOptions: {
      // Model ids contain slashes and dots; keep URLs as written.
      ignoreTrailingSlash: true,
      // Account names (PUT /admin/v1/accounts/{name}) may be up to 200 characters; Fastify allows 100.
      maxParamLength: 1024,
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(options), adapter, {
    logger: false,
    abortOnError: false,
    // Nest's default parsers include form-urlencoded, which turns form posts into half-typed objects
    // instead of 415 unsupported_media_type. configureHttp sets up JSON, MultipartSetup multipart.
    bodyParser: false,
  });
  stampRouteAuthPolicies(app);
  const metrics = app.get(GatewayMetrics);
  adapter.countStreamsWith(() => metrics.streamOpened());
  const deps = {
    log: options.logger,
    recorder: app.get(RequestRecorder),
    bodyLimitMb,
    bodyReadTimeoutMs,
    earlyCheck: earlyAuthCheck(app),
    maxObjectKeys,
  };
  const fastify = app.getHttpAdapter().getInstance();
  configureHttp(fastify, deps);
  closeConnectionsAfterGrace(fastify, options.config.file.server.shutdownGraceSeconds);
  app.useGlobalFilters(new ApiExceptionFilter(deps));
  // Ends with process.exit rather than re-raising the signal, so 'exit' handlers run after the database is
  // closed: serve's removal of <dataDir>/cli.json, and pino's flush of buffered log lines.
  app.enableShutdownHooks([], { useProcessExit: true });
  await app.init();
  return app;
}

/**
 * Fastify's close waits for every connection. Open streams get the grace period to finish; after it,
 * remaining connections (streams, keep-alive sockets that never sent a request) are closed.
 */
function closeConnectionsAfterGrace(fastify: FastifyInstance, graceSeconds: number): void {
  fastify.addHook('preClose', (done) => {
    const timer = setTimeout(() => fastify.server.closeAllConnections(), graceSeconds * 1000).unref();
    fastify.server.once('close', () => clearTimeout(timer));
    done();
  });
}
