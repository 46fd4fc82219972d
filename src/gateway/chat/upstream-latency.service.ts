// Live latency per upstream: an exponentially weighted moving average of the time to first byte (for a
// stream the first event, for a plain answer the whole answer: the first byte the client can use), taken
// from each finished request's facts. A timeout counts as a sample of the time waited. Model "auto" reads it.
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { elapsedMs, type RequestFacts } from '../../core/request-context';

/** Weight of the newest sample: about the last ten requests dominate. */
export const LATENCY_EWMA_ALPHA = 0.2;

@Injectable()
export class UpstreamLatency implements OnModuleInit {
  private readonly ewma = new Map<string, number>();

  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    fastify?.addHook('onResponse', (req, _reply, done) => {
      if (req.facts) this.observeRequest(req.facts);
      done();
    });
  }

  observeRequest(facts: RequestFacts): void {
    if (!facts.upstream || facts.cache === 'hit') return;
    if (facts.ttftMs !== undefined) this.observe(facts.upstream, facts.ttftMs);
    else if (facts.errorCode === 'upstream_timeout') this.observe(facts.upstream, elapsedMs(facts.startedAt));
  }

  observe(upstreamId: string, ms: number): void {
    const previous = this.ewma.get(upstreamId);
    this.ewma.set(upstreamId, previous === undefined ? ms : previous + LATENCY_EWMA_ALPHA * (ms - previous));
  }

  /** Milliseconds; undefined until the upstream has answered once. */
  get(upstreamId: string): number | undefined {
    return this.ewma.get(upstreamId);
  }
}
