// One undici Pool per upstream (keep-alive connections, per-upstream timeouts from config), and the choice
// of upstream for a model: the one with the fewest requests in flight.
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'undici';
import type { UpstreamConfig } from '../config/config.schema';
import { HunzeConfig } from '../config/hunze-config';
import type { ResolvedModel } from '../models/model-registry.service';

/** After a transport failure an upstream counts as unhealthy this long, unless a request succeeds sooner. */
const FAILURE_MEMORY_MS = 10_000;

export class UpstreamTarget {
  inFlight = 0;
  private lastFailureAt = 0;
  readonly pool: Pool;
  /** Path prefix of baseUrl (usually /v1), joined with the endpoint path. */
  readonly basePath: string;
  readonly authorization: string | undefined;

  constructor(readonly config: UpstreamConfig) {
    const base = new URL(config.baseUrl);
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.authorization = config.apiKey ? `Bearer ${config.apiKey}` : undefined;
    this.pool = new Pool(base.origin, {
      connections: config.maxConnections,
      connect: { timeout: config.timeouts.connectMs },
      headersTimeout: config.timeouts.firstByteMs,
      bodyTimeout: config.timeouts.idleMs,
      keepAliveTimeout: 30_000,
    });
  }

  get id(): string {
    return this.config.id;
  }

  /** Passive health: the last transport failure is recent. Active checks come with issue 4. */
  get healthy(): boolean {
    return Date.now() - this.lastFailureAt > FAILURE_MEMORY_MS;
  }

  markFailure(): void {
    this.lastFailureAt = Date.now();
  }

  markSuccess(): void {
    this.lastFailureAt = 0;
  }
}

@Injectable()
export class UpstreamPools implements OnApplicationShutdown {
  private readonly targets = new Map<string, UpstreamTarget>();

  constructor(@Inject(HunzeConfig) config: HunzeConfig) {
    for (const upstream of config.file.upstreams) this.targets.set(upstream.id, new UpstreamTarget(upstream));
  }

  /** Least outstanding requests among the model's upstreams; ties go to the first listed. */
  pick(model: ResolvedModel): UpstreamTarget {
    let best: UpstreamTarget | undefined;
    for (const upstream of model.upstreams) {
      const target = this.targets.get(upstream.id)!;
      if (!best || target.inFlight < best.inFlight) best = target;
    }
    return best!;
  }

  /** True when every model has at least one healthy upstream. */
  allModelsServed(models: readonly ResolvedModel[]): boolean {
    return models.every((m) => m.upstreams.some((u) => this.targets.get(u.id)!.healthy));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.targets.values()].map((t) => t.pool.destroy()));
  }
}
