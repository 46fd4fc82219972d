// Wiring that applies to every HTTP request, in one place: request ids, the metadata record written
// when a request ends, and the one error path. Nest routes Fastify's own errors (body parser, body limit)
// into the same exception filter, so there is no separate Fastify error handler.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestMetadata } from '../compliance/request-metadata';
import type { MeteringService } from '../metering/metering.service';
import type { AppLogger } from '../telemetry/logger';
import type { Telemetry } from '../telemetry/telemetry.service';
import { toApiError } from './error-mapper';
import type { ApiError } from './errors';
import { elapsedMs } from './request-context';

const INBOUND_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const ID_BYTES = 16;
/** Request ids are cut from a block of random bytes: one getrandom call per 256 ids, not one each. */
const ID_BLOCK = 256 * ID_BYTES;
let idBlock = Buffer.alloc(0);
let idOffset = 0;

/** Keeps an id set by a load balancer (HAProxy passes x-request-id); otherwise OpenAI-style `req_<hex>`. */
export function genRequestId(req: IncomingMessage): string {
  const inbound = req.headers['x-request-id'];
  if (typeof inbound === 'string' && INBOUND_REQUEST_ID.test(inbound)) return inbound;
  if (idOffset + ID_BYTES > idBlock.length) {
    idBlock = randomBytes(ID_BLOCK);
    idOffset = 0;
  }
  const id = `req_${idBlock.toString('hex', idOffset, idOffset + ID_BYTES)}`;
  idOffset += ID_BYTES;
  return id;
}

export interface HttpDeps {
  log: AppLogger;
  metering: MeteringService;
  bodyLimitMb: number;
  /** One span per request from the same metadata record (a no-op without telemetry.otlpEndpoint). */
  telemetry?: Telemetry;
}

/**
 * A route that speaks another API's error format (the Gemini routes) names its body builder in its Fastify
 * route config (`@RouteConfig({ errorBody })`); the catalogue error itself stays the same.
 */
export interface ErrorBodyConfig {
  errorBody?: (error: ApiError) => unknown;
}

export function configureHttp(fastify: FastifyInstance, deps: HttpDeps): void {
  fastify.decorateRequest('facts', null as never);
  // Every body endpoint takes JSON or multipart; Fastify's built-in text/plain parser would hand a string to
  // the JSON validation instead of answering 415.
  fastify.removeContentTypeParser('text/plain');
  // JSON is parsed from bytes: Fastify's default reads it as a string, and broken UTF-8 then surfaces as a
  // content-length mismatch instead of invalid JSON.
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) =>
    parseJson(req, body.toString('utf8'), done),
  );
  // Fastify fixes a route's error handler when the route is added, before Nest installs its own; without
  // this, body-parser errors (invalid JSON, body too large) would get Fastify's default body.
  fastify.addHook('onRoute', (route) => {
    route.errorHandler ??= (err, req, reply) => sendError(err, req, reply, deps);
  });
  fastify.addHook('onRequest', (req, reply, done) => {
    req.facts = { startedAt: process.hrtime.bigint() };
    void reply.header('x-request-id', req.id);
    let record: RequestMetadata | undefined;
    /** Makes and journals the record once; returns it only to the first caller. */
    const journalOnce = (clientClosed: boolean): RequestMetadata | undefined => {
      if (record) return undefined;
      if (clientClosed) req.facts.clientClosed = true;
      record = metadataOf(req, reply);
      deps.metering.journal(record);
      return record;
    };
    const observe = (made: RequestMetadata | undefined) => {
      if (!made) return;
      deps.metering.observe(made);
      deps.telemetry?.recordRequest(made);
    };
    // The usage row is journaled just before the last bytes go out, not on 'close' (which can follow by
    // milliseconds): a process killed right after the client has its answer must still have it. The log
    // line, metrics, token charge and span follow the write, off the response's critical path.
    const raw = reply.raw;
    const end = raw.end.bind(raw) as (...args: unknown[]) => ServerResponse;
    raw.end = ((...args: unknown[]) => {
      const made = journalOnce(raw.destroyed);
      const result = end(...args);
      observe(made);
      return result;
    }) as ServerResponse['end'];
    // 'close' comes once per response, finished or not: a client that hangs up before the end still gets
    // its record (Fastify's onResponse would miss it).
    raw.once('close', () => observe(journalOnce(!raw.writableFinished)));
    done();
  });
}

/**
 * Fastify's `frameworkErrors`: errors the router raises before any route or hook runs (a URL that cannot be
 * percent-decoded, an over-long path parameter). Fastify's own answer would quote the URL and carry no
 * request id, so the catalogue error is sent here, with the id the onRequest hook would have set.
 */
export function frameworkErrorHandler(bodyLimitMb: number) {
  return (err: unknown, req: FastifyRequest, reply: FastifyReply): void => {
    const error = toApiError(err, bodyLimitMb);
    void reply
      .status(error.status)
      .headers({ 'x-request-id': req.id, ...error.responseHeaders() })
      .send(error.toBody());
  };
}

/** Every exception a controller, guard, pipe or the body parser throws ends here. */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(private readonly deps: HttpDeps) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendError(exception, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>(), this.deps);
  }
}

function sendError(exception: unknown, req: FastifyRequest, reply: FastifyReply, deps: HttpDeps): void {
  const error = toApiError(exception, deps.bodyLimitMb);
  if (error.code === 'internal_error') deps.log.error('unhandled_error', exception, { requestId: req.id });
  if (req.facts) req.facts.errorCode = error.code;
  if (reply.sent || reply.raw.headersSent) return;
  const errorBody = (req.routeOptions?.config as ErrorBodyConfig | undefined)?.errorBody;
  const body = errorBody ? errorBody(error) : error.toBody();
  void reply.status(error.status).headers(error.responseHeaders()).send(body);
}

function metadataOf(req: FastifyRequest, reply: FastifyReply): RequestMetadata {
  const facts = req.facts ?? { startedAt: process.hrtime.bigint() };
  const principal = req.principal;
  return {
    time: new Date().toISOString(),
    requestId: req.id,
    method: req.method,
    // The route pattern, never the URL: a query string may carry a key (?key=) or other input.
    endpoint: req.routeOptions.url ?? 'unmatched',
    status: facts.clientClosed ? 499 : reply.statusCode,
    latencyMs: Math.round(elapsedMs(facts.startedAt) * 1000) / 1000,
    keyId: principal?.keyId,
    account: principal?.accountName ?? undefined,
    model: facts.model,
    upstream: facts.upstream,
    failovers: facts.failovers,
    stream: facts.stream,
    promptTokens: facts.promptTokens,
    completionTokens: facts.completionTokens,
    totalTokens: facts.totalTokens,
    ttftMs: facts.ttftMs === undefined ? undefined : Math.round(facts.ttftMs * 1000) / 1000,
    audioSeconds: facts.audioSeconds,
    errorCode: facts.errorCode,
    cache: facts.cache,
  };
}
