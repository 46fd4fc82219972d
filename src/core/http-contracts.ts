// What modules hand to the HTTP wiring (src/http/http-setup.ts) without importing it: the HTTP layer sits
// above every module, so the shapes it accepts are declared here.
import type { FastifyRequest } from 'fastify';
import type { ApiError } from './errors';

/** A check on the headers alone, before the body is read (authentication); an error is the answer. */
export type EarlyCheck = (req: FastifyRequest) => ApiError | undefined | Promise<ApiError | undefined>;

/**
 * A route that speaks another API's error format (the Gemini routes) names its body builder in its Fastify
 * route config (`@RouteConfig({ errorBody })`); the catalogue error itself stays the same.
 */
export interface ErrorBodyConfig {
  errorBody?: (error: ApiError) => unknown;
}
