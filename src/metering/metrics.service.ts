// The appliance's Prometheus registry (prom-client). One registry per app instance, so tests and several
// apps in one process never collide. Metric labels carry only our own values: model and upstream ids from
// config, route patterns, status numbers and catalogue error codes; never request content or key material.
// Other parts register their own gauges on `registry` (spool, writer, rate limits).
import { Inject, Injectable, Optional } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RecordSink } from '../core/record-sink';
import type { RequestRecord } from '../core/request-record';
import { HunzeConfig } from '../config/hunze-config';

/** Whole requests: an LLM answer takes from milliseconds (cache, embeddings) to minutes (long generations). */
const DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300];
/** Time to first token: prefill of a prompt, from tens of milliseconds to tens of seconds for long contexts. */
const TTFT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 2, 5, 10, 30];

/** Label value for a request that never resolved a model (bad key, unknown model, admin routes...). */
export const NO_MODEL = 'unknown';
/** Label value for a request no upstream served (rejected before the relay, or a response cache hit). */
export const NO_UPSTREAM = 'none';

export interface UpstreamHealth {
  readonly id: string;
  readonly available: boolean;
}

@Injectable()
export class MetricsService implements RecordSink {
  readonly name = 'prometheus';
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

  private readonly requests = new Counter({
    name: 'hunze_requests_total',
    help: 'Finished requests by route pattern, model, upstream and HTTP status (499: the client went away).',
    labelNames: ['endpoint', 'model', 'upstream', 'status'] as const,
    registers: [this.registry],
  });

  private readonly errors = new Counter({
    name: 'hunze_request_errors_total',
    help: 'Requests that ended in an error, by catalogue code (also errors inside a started stream).',
    labelNames: ['endpoint', 'model', 'code'] as const,
    registers: [this.registry],
  });

  private readonly tokens = new Counter({
    name: 'hunze_tokens_total',
    help: "Tokens as counted by the upstream's usage report.",
    labelNames: ['model', 'upstream', 'type'] as const,
    registers: [this.registry],
  });

  private readonly duration = new Histogram({
    name: 'hunze_request_duration_seconds',
    help: 'Time from the request to the end of its response.',
    labelNames: ['endpoint', 'model', 'upstream'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });

  private readonly timeToFirstToken = new Histogram({
    name: 'hunze_time_to_first_token_seconds',
    help: 'Streamed requests: time from the request to the first event relayed to the client.',
    labelNames: ['model', 'upstream'] as const,
    buckets: TTFT_BUCKETS,
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
    const model = allowed(record.model, this.knownModels) ?? NO_MODEL;
    const upstream = allowed(record.upstream, this.knownUpstreams) ?? NO_UPSTREAM;
    const { endpoint } = record;
    this.requests.inc({ endpoint, model, upstream, status: String(record.status) });
    const code = record.errorCode ?? (record.status === 499 ? 'client_closed' : undefined);
    if (code) this.errors.inc({ endpoint, model, code });
    if (record.promptTokens) this.tokens.inc({ model, upstream, type: 'prompt' }, record.promptTokens);
    if (record.completionTokens)
      this.tokens.inc({ model, upstream, type: 'completion' }, record.completionTokens);
    this.duration.observe({ endpoint, model, upstream }, record.latencyMs / 1000);
    // A non-stream answer's first token arrives with the whole answer: that is its duration, not a TTFT.
    if (record.stream && record.ttftMs !== undefined)
      this.timeToFirstToken.observe({ model, upstream }, record.ttftMs / 1000);
  }

  /** Counts a stream as open; the returned function closes it and may be called any number of times. */
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

  /** Where `hunze_upstream_up` reads the upstreams' availability at each scrape (the gateway's pools). */
  watchUpstreams(source: () => Iterable<UpstreamHealth>): void {
    this.upstreamSource = source;
  }
}

function allowed(value: string | undefined, known: ReadonlySet<string> | undefined): string | undefined {
  if (value === undefined) return undefined;
  return !known || known.has(value) ? value : undefined;
}
