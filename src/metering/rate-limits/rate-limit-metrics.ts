// The rate limiter's Prometheus series, on the appliance's registry. Labels are fixed words only.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { LimitKind, Scope } from './limit-rules';

export class RateLimitMetrics {
  private readonly backendUp: Gauge<'backend'>;
  private readonly limited: Counter<'kind' | 'scope'>;
  private readonly exchanges: Counter;

  constructor(registry: Registry) {
    this.backendUp = new Gauge({
      name: 'hunze_rate_limit_backend_up',
      help: 'Whether the shared rate-limit backend answers (1) or this replica enforces its local limits (0).',
      labelNames: ['backend'] as const,
      registers: [registry],
    });
    this.limited = new Counter({
      name: 'hunze_rate_limited_total',
      help: 'Requests refused with 429 by a limit: requests or tokens per minute, or the monthly quota.',
      labelNames: ['kind', 'scope'] as const,
      registers: [registry],
    });
    this.exchanges = new Counter({
      name: 'hunze_rate_limit_exchanges_total',
      help: 'Exchanges of counts with Redis completed (redis.rateLimitSyncMs > 0): stalls when they stop.',
      registers: [registry],
    });
  }

  redisUp(up: boolean): void {
    this.backendUp.set({ backend: 'redis' }, up ? 1 : 0);
  }

  exchanged(): void {
    this.exchanges.inc();
  }

  refused(kind: LimitKind, scope: Scope): void {
    this.limited.inc({ kind, scope });
  }
}
