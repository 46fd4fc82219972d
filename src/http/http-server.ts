// The HTTP server around the Nest app: Fastify's options (limits, request ids, the answers given before a
// route runs) and the Fastify-level wiring every request passes (http-setup.ts), installed before the routes
// are. What passes through Nest (guards, the exception filter, the recorder's sinks) is in http.module.ts.
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { earlyAuthCheck, stampRouteAuthPolicies } from '../auth/early-auth';
import type { ServerConfig } from '../config/config.schema';
import { GatewayMetrics } from '../metering/gateway-metrics';
import { RequestRecorder } from '../metering/request-recorder';
import type { AppLogger } from '../telemetry/logger';
import { clientErrorHandler } from './client-error';
import { configureHttp, frameworkErrorHandler } from './http-setup';
import { AnswerWritingAdapter } from './reply-writer';
import { genRequestId } from './request-id';

export function createHttpAdapter(server: ServerConfig): AnswerWritingAdapter {
  const { bodyLimitMb, bodyReadTimeoutMs, maxHeaderBytes } = server;
  return new AnswerWritingAdapter({
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
}

/** Installs the per-request wiring; call after the app is created and before `app.init()` adds the routes. */
export function installHttp(
  app: NestFastifyApplication,
  adapter: AnswerWritingAdapter,
  server: ServerConfig,
  log: AppLogger,
): void {
  stampRouteAuthPolicies(app);
  const metrics = app.get(GatewayMetrics);
  adapter.countStreamsWith(() => metrics.streamOpened());
  const deps = {
    log,
    recorder: app.get(RequestRecorder),
    bodyLimitMb: server.bodyLimitMb,
    bodyReadTimeoutMs: server.bodyReadTimeoutMs,
    earlyCheck: earlyAuthCheck(app),
    maxObjectKeys: server.maxObjectKeys,
  };
  const fastify = app.getHttpAdapter().getInstance();
  configureHttp(fastify, deps);
  closeConnectionsAfterGrace(fastify, server.shutdownGraceSeconds);
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
