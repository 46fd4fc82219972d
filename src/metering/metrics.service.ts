// The appliance's Prometheus registry (prom-client). One registry per app instance, so tests and several
// apps in one process never collide. Metric labels carry only our own values: model and upstream ids from
// config, route patterns, status numbers and catalogue error codes; never request content or key material.
// The request series are defined in core/request-series.ts (with their OTLP twins); upstream/ and gateway/ count
// through GatewayMetrics; metering's own parts register their gauges on `registry` (spool, writer, rate limits).
import { Inject, Injectable, Optional } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RecordSink } from '../core/record-sink';
import type { RequestRecord } from '../core/request-record';
import { measure, REQUEST_SERIES } from '../core/request-series';
import { HunzeConfig } from '../config/hunze-config';
import { GatewayMetrics, type UpstreamHealth } from './gateway-metrics';

/** Label value for a request that never resolved a model (bad key, unknown model, admin routes...). */
export const NO_MODEL = 'unknown';
/** Label value for a request no upstream served (rejected before the relay, or a response cache hit). */
export const NO_UPSTREAM = 'none';

const { requests, errors, tokens, duration, ttft } = REQUEST_SERIES;

@Injectable()
export class MetricsService implements RecordSink, GatewayMetrics {
  readonly name = 'prometheus';
  readonly registry = new Registry();

  private readonly responseCacheHits = new Counter({
    name: 'hunze_response_cache_hits_total',
    help: 'Chat answers served from the in-memory response cache.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  private readonly responseCacheMisses = new Counter({
    name: 'hunze_response_cache_misses_total',
    help: 'Cacheable chat requests that were not in the response cache and went to the upstream.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  private readonly mediaFetches = new Counter({
    name: 'hunze_media_fetches_total',
    help: 'Media fetched by URL for a request (media.remoteUrls: fetch), by outcome: ok or the refusal reason.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly requests = new Counter({ ...requests.prometheus, registers: [this.registry] });
  private readonly errors = new Counter({ ...errors.prometheus, registers: [this.registry] });
  private readonly tokens = new Counter({ ...tokens.prometheus, registers: [this.registry] });
  private readonly duration = new Histogram({
    ...duration.prometheus,
    buckets: [...duration.prometheus.buckets],
    registers: [this.registry],
  });
  private readonly timeToFirstToken = new Histogram({
    ...ttft.prometheus,
    buckets: [...ttft.prometheus.buckets],
    registers: [this.registry],
  });

  private readonly openStreams = new Gauge({
    name: 'hunze_open_streams',
    help: 'SSE streams currently being relayed to clients.',
    registers: [this.registry],
  });

  private upstreamSource: () => Iterable<UpstreamHealth> = () => [];

  private readonly upstreamUp = new Gauge({
    name: 'hunze_upstream_up',
    help: 'Whether the upstream takes requests (circuit not open and last health probe passed): 1 or 0.',
    labelNames: ['upstream'] as const,
    registers: [this.registry],
    collect: () => {
      for (const upstream of this.upstreamSource())
        this.upstreamUp.set({ upstream: upstream.id }, upstream.available ? 1 : 0);
    },
  });

  /** Model and upstream ids from config: anything else never becomes a label value. */
  private readonly knownModels: ReadonlySet<string> | undefined;
  private readonly knownUpstreams: ReadonlySet<string> | undefined;

  constructor(@Optional() @Inject(HunzeConfig) config?: HunzeConfig) {
    collectDefaultMetrics({ register: this.registry, prefix: 'hunze_' });
    if (config) {
      this.knownModels = new Set(config.file.models.map((m) => m.id));
      this.knownUpstreams = new Set(config.file.upstreams.map((u) => u.id));
    }
  }

  /** Called once per finished request with its metadata record (a sink of the request recorder). */
  take(record: RequestRecord): void {
    const m = measure(record);
    const model = allowed(record.model, this.knownModels) ?? NO_MODEL;
    const upstream = allowed(record.upstream, this.knownUpstreams) ?? NO_UPSTREAM;
    const { endpoint } = record;
    this.requests.inc({ endpoint, model, upstream, status: String(record.status) });
    if (m.errorCode) this.errors.inc({ endpoint, model, code: m.errorCode });
    if (m.promptTokens) this.tokens.inc({ model, upstream, type: 'prompt' }, m.promptTokens);
    if (m.completionTokens) this.tokens.inc({ model, upstream, type: 'completion' }, m.completionTokens);
    this.duration.observe({ endpoint, model, upstream }, m.durationSeconds);
    // A non-stream answer's first token arrives with the whole answer: that is its duration, not a TTFT.
    if (record.stream && m.ttftSeconds !== undefined)
      this.timeToFirstToken.observe({ model, upstream }, m.ttftSeconds);
  }

  responseCacheLookup(model: string, hit: boolean): void {
    (hit ? this.responseCacheHits : this.responseCacheMisses).inc({ model });
  }

  mediaFetched(outcome: string): void {
    this.mediaFetches.inc({ outcome });
  }

  streamOpened(): () => void {
    this.openStreams.inc();
    let open = true;
    return () => {
      if (open) {
        open = false;
        this.openStreams.dec();
      }
    };
  }

  watchUpstreams(source: () => Iterable<UpstreamHealth>): void {
    this.upstreamSource = source;
  }
}

function allowed(value: string | undefined, known: ReadonlySet<string> | undefined): string | undefined {
  if (value === undefined) return undefined;
  return !known || known.has(value) ? value : undefined;
}
