// Enforces the limits on the model endpoints (/v1, /v1beta), after AuthGuard has named the caller and
// before the body is validated or any upstream is called. A limited key's x-ratelimit-* headers go on the
// reply here, so every response carries them, errors included; a refusal is a catalogue 429.
// A guard, not an interceptor: Nest wraps every request in rxjs and AsyncResource.bind (about 10 µs each
// on Node 20) as soon as one interceptor exists. It runs right after AuthGuard, which names the caller: both
// are called in that order by RequestGuards (src/http/request-guards.ts).
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../core/errors';
import type { Admission, Refusal } from './limit-rules';
import { RateLimits } from './rate-limits.service';

const MODEL_ROUTES = /^\/v1(beta)?\//;

@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(@Inject(RateLimits) private readonly limits: RateLimits) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const principal = request.principal;
    // Unlimited keys (the common case) and public or admin routes pass at no cost.
    const plan = principal && this.limits.planFor(principal);
    if (!plan || !MODEL_ROUTES.test(request.routeOptions.url ?? '')) return true;
    const reply = http.getResponse<FastifyReply>();
    const enforce = (admission: Admission): boolean => {
      void reply.headers(admission.headers);
      if (admission.refusal) throw refusalError(admission.refusal);
      return true;
    };
    const admission = this.limits.admit(plan);
    return admission instanceof Promise ? admission.then(enforce) : enforce(admission);
  }
}

function refusalError(refusal: Refusal): ApiError {
  const seconds = Math.max(1, Math.ceil(refusal.retryAfterMs / 1000));
  const headers = {
    'retry-after': String(seconds),
    'retry-after-ms': String(Math.ceil(refusal.retryAfterMs)),
  };
  if (refusal.kind === 'quota') return new ApiError('quota_exceeded', {}, null, headers);
  const retryAfter = String(Math.round(refusal.retryAfterMs) / 1000);
  return new ApiError('rate_limit_exceeded', { retryAfter }, null, headers);
}
