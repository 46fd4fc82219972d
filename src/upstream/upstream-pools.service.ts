// The upstream targets, the order in which a model's upstreams are tried (available ones first, then by
// fewest requests in flight: least-outstanding-requests balancing), and the active health-check loop.
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { residencyEvents, type ResidencyViolation } from '../residency/residency-connector';
import { HunzeConfig } from '../config/hunze-config';
import { GatewayMetrics } from '../metering/gateway-metrics';
import type { ResolvedModel } from '../models/model-registry.service';
import { AppLogger } from '../telemetry/logger';
import { UpstreamTarget } from './upstream-target';

@Injectable()
export class UpstreamPools implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly targets = new Map<string, UpstreamTarget>();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    @Inject(HunzeConfig) config: HunzeConfig,
    @Inject(AppLogger) log: AppLogger,
    @Inject(GatewayMetrics) metrics: GatewayMetrics,
  ) {
    // A residency refusal is logged (metadata only) and published for the audit log.
    const onViolation = (violation: ResidencyViolation) => {
      log.warn('residency_violation', { ...violation });
      residencyEvents.publish(violation);
    };
    for (const upstream of config.file.upstreams) {
      const ca = config.upstreamCas.get(upstream.id);
      this.targets.set(upstream.id, new UpstreamTarget(upstream, { onViolation }, ca));
    }
    metrics.watchUpstreams(() => this.targets.values()); // hunze_upstream_up, read at each scrape
  }

  onApplicationBootstrap(): void {
    for (const target of this.targets.values()) {
      const seconds = target.config.healthCheck.intervalSeconds;
      if (seconds <= 0) continue;
      void target.probe();
      this.timers.push(setInterval(() => void target.probe(), seconds * 1000).unref());
    }
  }

  /** Every upstream of the model, in the order to try them. */
  candidates(model: ResolvedModel): UpstreamTarget[] {
    const targets = model.upstreams.map((u) => this.targets.get(u.id)!);
    if (targets.length === 1) return targets;
    return targets
      .map((target, index) => ({ target, index }))
      .sort(
        (a, b) =>
          Number(b.target.available) - Number(a.target.available) ||
          a.target.inFlight - b.target.inFlight ||
          a.index - b.index,
      )
      .map(({ target }) => target);
  }

  get(id: string): UpstreamTarget | undefined {
    return this.targets.get(id);
  }

  all(): UpstreamTarget[] {
    return [...this.targets.values()];
  }

  /** True when every model has at least one available upstream. */
  allModelsServed(models: readonly ResolvedModel[]): boolean {
    return models.every((m) => m.upstreams.some((u) => this.targets.get(u.id)!.available));
  }

  async onApplicationShutdown(): Promise<void> {
    this.timers.forEach(clearInterval);
    await Promise.all([...this.targets.values()].map((t) => t.pool.destroy()));
  }
}
