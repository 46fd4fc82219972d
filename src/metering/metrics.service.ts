// The appliance's Prometheus registry (prom-client). One registry per app instance, so tests and several
// apps in one process never collide. Metric labels carry only our own values (model ids from config).
import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import type { RequestMetadata } from '../compliance/request-metadata';

@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly responseCacheHits = new Counter({
    name: 'hunze_response_cache_hits_total',
    help: 'Chat answers served from the in-memory response cache.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  readonly responseCacheMisses = new Counter({
    name: 'hunze_response_cache_misses_total',
    help: 'Cacheable chat requests that were not in the response cache and went to the upstream.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  /** Called once per finished request (helper C: request, error, token, latency and TTFT metrics). */
  observe(_record: RequestMetadata): void {}
}
