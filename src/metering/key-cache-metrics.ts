// The key cache's Prometheus series, read at each scrape: whether each key-change feed between replicas is
// subscribed, whether keys are answered from the cache or checked in the database, and how many were checked.
import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { KeyCache } from '../auth/key-cache.service';
import { KeyChangeBus } from '../auth/key-changes/key-change-bus';
import { MetricsService } from './metrics.service';

@Injectable()
export class KeyCacheMetrics {
  constructor(
    @Inject(MetricsService) metrics: MetricsService,
    @Inject(KeyCache) cache: KeyCache,
    @Inject(KeyChangeBus) bus: KeyChangeBus,
  ) {
    const registers = [metrics.registry];
    const feedUp: Gauge<'feed'> = new Gauge({
      name: 'hunze_key_change_feed_up',
      help: 'Whether the key-change feed between replicas (postgres, redis) is subscribed: 1 or 0.',
      labelNames: ['feed'] as const,
      registers,
      collect: () => {
        for (const [feed, up] of Object.entries(bus.feedStates())) feedUp.set({ feed }, up ? 1 : 0);
      },
    });
    const trusted: Gauge = new Gauge({
      name: 'hunze_key_cache_trusted',
      help: 'Keys answered from the cache (1), or each checked in the database while every feed is down (0).',
      registers,
      collect: () => trusted.set(cache.trusted ? 1 : 0),
    });
    let reported = 0;
    const verified: Counter = new Counter({
      name: 'hunze_key_database_checks_total',
      help: 'Presented keys checked in the database because the key cache was not trusted.',
      registers,
      collect: () => {
        verified.inc(cache.verifiedLookups - reported);
        reported = cache.verifiedLookups;
      },
    });
  }
}
