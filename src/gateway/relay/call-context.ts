import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { CallContext } from '../../core/call-context';
import { Answer } from '../../core/answer';
import type { UpstreamResult } from '../../upstream/upstream-result';

/** The request as the services see it: no reply, only what serving it needs (src/core/call-context.ts). */
export function callContextOf(req: FastifyRequest): CallContext {
  return {
    requestId: req.id,
    principal: req.principal!,
    facts: req.facts,
    // A getter: the signal is made on first use, and a cached answer never needs one.
    get signal() {
      return req.clientSignal;
    },
  };
}

/** `@Call() call: CallContext` on a route handler's parameter: the authenticated request's call context. */
export const Call = createParamDecorator((_data: unknown, ctx: ExecutionContext) =>
  callContextOf(ctx.switchToHttp().getRequest<FastifyRequest>()),
);

/** An upstream's result as the client gets it: JSON as the upstream sent it, or the checked events. */
export function answerOf(result: UpstreamResult): Answer {
  return result.kind === 'json' ? Answer.json(result.text) : Answer.stream(result.events);
}
