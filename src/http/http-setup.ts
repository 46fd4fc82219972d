// Wiring that applies to every HTTP request, in one place: request ids, the metadata record written
// when a request ends, and the one error path. Nest routes Fastify's own errors (body parser, body limit)
// into the same exception filter, so there is no separate Fastify error handler.
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toApiError } from '../core/error-mapper';
import { ApiError } from '../core/errors';
import type { EarlyCheck, ErrorBodyConfig } from '../core/http-contracts';
import type { RequestRecorder } from '../metering/request-recorder';
import type { AppLogger } from '../telemetry/logger';
import { ClientSignal } from './client-signal';
import { readJsonBody } from './json-body';
import { ObjectKeysBound } from './object-keys-bound';
import { discardUnreadBody, hasBody, watchBodyRead } from './unread-body';

export interface HttpDeps {
  log: AppLogger;
  /** Makes each request's record when it ends and hands it to the sinks (metering/request-recorder.ts). */
  recorder: RequestRecorder;
  bodyLimitMb: number;
  bodyReadTimeoutMs: number;
  earlyCheck?: EarlyCheck;
  /** server.maxObjectKeys: the most keys any object in a JSON body may have. */
  maxObjectKeys: number;
}

export function configureHttp(fastify: FastifyInstance, deps: HttpDeps): void {
  fastify.decorateRequest('facts', null as never);
  fastify.decorateRequest(RESPONSE, null);
  fastify.decorateRequest(SIGNAL, null);
  fastify.decorateRequest('clientSignal', {
    getter(this: FastifyRequest) {
      return clientSignal(this);
    },
  });
  // Every body endpoint takes JSON or multipart; Fastify's built-in text/plain parser would hand a string to
  // the JSON validation instead of answering 415.
  fastify.removeContentTypeParser('text/plain');
  // JSON is read as bytes and decoded chunk by chunk as it arrives (json-body.ts): Fastify's string reading
  // counts the decoded text, so broken UTF-8 would surface as a content-length mismatch instead of invalid
  // JSON; its buffer reading copies the whole body twice after the last byte.
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser('application/json', readJsonBody(parseJson));
  // Every JSON body's objects are counted as its bytes arrive, before it is parsed (object-keys-bound.ts).
  fastify.addHook('preParsing', (req, _reply, payload, done) => {
    if (!isJson(req.headers['content-type'])) return done(null, payload);
    done(null, countKeys(payload, deps.maxObjectKeys));
  });
  // Fastify fixes a route's error handler when the route is added, before Nest installs its own; without
  // this, body-parser errors (invalid JSON, body too large) would get Fastify's default body.
  fastify.addHook('onRoute', (route) => {
    route.errorHandler ??= (err, req, reply) => sendError(err, req, reply, deps);
  });
  const discardLimit = discardLimitBytes(deps.bodyLimitMb);
  fastify.addHook('onRequest', (req, reply, done) => {
    req.facts = { startedAt: process.hrtime.bigint() };
    (req as WithResponse)[RESPONSE] = reply.raw;
    void reply.header('x-request-id', req.id).header('x-content-type-options', 'nosniff');
    // Admin answers carry keys in clear and account data: never kept by a browser or proxy cache.
    if (req.url.startsWith('/admin/')) void reply.header('cache-control', 'no-store');
    recordAtEnd(req, reply, deps, discardLimit);
    if (hasBody(req.raw)) {
      watchBodyRead(req.raw, reply.raw, deps.bodyReadTimeoutMs, () => onBodyStall(req, reply, deps));
    }
    const refused = deps.earlyCheck?.(req);
    if (refused instanceof Promise) {
      refused.then(
        (error) => answerEarly(error, req, reply, deps, done),
        (err: unknown) => answerEarly(toApiError(err, deps.bodyLimitMb), req, reply, deps, done),
      );
    } else {
      answerEarly(refused, req, reply, deps, done);
    }
  });
}

const RESPONSE = Symbol('response');
const SIGNAL = Symbol('client signal');
type WithResponse = FastifyRequest & { [RESPONSE]: ServerResponse | null; [SIGNAL]: ClientSignal | null };

/** Made on first use (most requests never need one): aborts when the response closes unfinished. */
function clientSignal(request: FastifyRequest): ClientSignal {
  const req = request as WithResponse;
  if (req[SIGNAL]) return req[SIGNAL];
  const signal = new ClientSignal();
  const response = req[RESPONSE];
  const abortUnfinished = () => {
    if (!response!.writableFinished) {
      req.facts.clientClosed = true;
      signal.abort();
    }
  };
  // `on`, not `once`: a response closes once, and once() wraps every listener.
  if (response?.closed) abortUnfinished();
  else response?.on('close', abortUnfinished);
  req[SIGNAL] = signal;
  return signal;
}

/**
 * The body as Fastify's parser reads it, counted on the way (object-keys-bound.ts). Not `pipeline`: on a
 * refusal it would destroy the request, and the rest of the body, left unread on a keep-alive connection,
 * would hold every later request on it. The request is only unpiped, so the early answer's discard
 * (discardUnreadBody) reads it to the end; a client that goes away mid-body still ends the counted stream.
 */
function countKeys(payload: Readable, maxObjectKeys: number): Readable {
  const bound = new ObjectKeysBound(maxObjectKeys);
  bound.once('error', () => payload.unpipe(bound));
  payload.on('error', (err) => bound.destroy(err));
  return payload.pipe(bound);
}

/** The media types Fastify's JSON parser takes (application/json with or without parameters). */
function isJson(contentType: string | undefined): boolean {
  return contentType?.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
}

/**
 * How much of an unread body is read and thrown away after an early answer (see discardUnreadBody): enough
 * for any upload a client would reasonably send this appliance, so it reads the answer instead of a reset.
 */
function discardLimitBytes(bodyLimitMb: number): number {
  return Math.max(4 * bodyLimitMb, 100) * 1024 * 1024;
}

function answerEarly(
  error: ApiError | undefined,
  req: FastifyRequest,
  reply: FastifyReply,
  deps: HttpDeps,
  done: () => void,
): void {
  if (!error) return done();
  sendError(error, req, reply, deps);
}

/**
 * The record of the request, made once by the recorder when the response ends or closes (the usage row just
 * before the last bytes, the other sinks after them). An answer that goes out before the body was read
 * (refused early, too large) lets the rest be discarded, not reset.
 */
function recordAtEnd(req: FastifyRequest, reply: FastifyReply, deps: HttpDeps, discardLimit: number): void {
  deps.recorder.recordAtEnd(
    reply.raw,
    () => ({
      id: req.id,
      method: req.method,
      route: req.routeOptions.url,
      facts: req.facts,
      principal: req.principal,
    }),
    () => discardUnreadBody(req.raw, discardLimit),
  );
}

/** No body byte for `server.bodyReadTimeoutMs`: 408 if nothing was answered yet, and the connection ends. */
function onBodyStall(req: FastifyRequest, reply: FastifyReply, deps: HttpDeps): void {
  if (reply.raw.headersSent) {
    req.raw.socket?.destroy();
    return;
  }
  void reply.header('connection', 'close');
  sendError(new ApiError('request_timeout', { timeoutMs: deps.bodyReadTimeoutMs }), req, reply, deps, true);
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
      .headers({ 'x-request-id': req.id, 'x-content-type-options': 'nosniff', ...error.responseHeaders() })
      .send(error.toBody());
  };
}

/** What the one error path needs: where an unexpected error is logged, and the body limit it names. */
export type ErrorDeps = Pick<HttpDeps, 'log' | 'bodyLimitMb'>;

/** Every exception a controller, guard, pipe or the body parser throws ends here. */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(private readonly deps: ErrorDeps) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendError(exception, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>(), this.deps);
  }
}

function sendError(
  exception: unknown,
  req: FastifyRequest,
  reply: FastifyReply,
  deps: ErrorDeps,
  closeConnection = false,
): void {
  const error = toApiError(exception, deps.bodyLimitMb);
  if (error.code === 'internal_error') deps.log.error('unhandled_error', exception, { requestId: req.id });
  if (req.facts) req.facts.errorCode = error.code;
  if (reply.sent || reply.raw.headersSent) return;
  // Fastify's body parser asks to close after a too-large body; the rest is discarded instead (recordAtEnd),
  // so a client still uploading reads its 413 rather than a reset connection.
  if (!closeConnection && !req.raw.complete) reply.removeHeader('connection');
  const errorBody = (req.routeOptions?.config as ErrorBodyConfig | undefined)?.errorBody;
  const body = errorBody ? errorBody(error) : error.toBody();
  void reply.status(error.status).headers(error.responseHeaders()).send(body);
}
