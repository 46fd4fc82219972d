// OpenTelemetry, metadata only: one span and a few metric points per request, built from the allowlisted
// request record (core/request-record.ts): a sink of the request recorder, after the access log and Prometheus.
// No auto-instrumentation is loaded (it would record URLs, headers and SQL statements).
// Without `telemetry.otlpEndpoint` this is a no-op: no provider, no exporter, nothing kept.
// take runs once per request, so it only queues the record for its span (span-queue.ts) and adds it to plain
// per-label-set aggregates (request-metrics.ts); the OTLP documents are built when they are exported.
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { RecordSink } from '../core/record-sink';
import type { RequestRecord } from '../core/request-record';
import { HunzeConfig } from '../config/hunze-config';
import { AppLogger } from './logger';
import { OtlpMetricExporter, OtlpSender, type OtlpHooks } from './otlp-exporters';
import { OtlpSpanEncoder } from './otlp-span-encoder';
import { RequestMetrics } from './request-metrics';
import { SpanQueue } from './span-queue';

interface Pipeline {
  sender: OtlpSender;
  spans: SpanQueue;
  metrics: RequestMetrics;
  meter: MeterProvider;
}

@Injectable()
export class Telemetry implements RecordSink, OnApplicationShutdown {
  readonly name = 'opentelemetry';
  private readonly pipeline: Pipeline | undefined;

  constructor(config: HunzeConfig, log: AppLogger, hooks: OtlpHooks = {}) {
    const { otlpEndpoint, otlpNetworks, otlpCountry, otlpIntervalSeconds } = config.file.telemetry;
    if (!otlpEndpoint) return;
    const sender = new OtlpSender(
      {
        endpoint: otlpEndpoint,
        networks: otlpNetworks ?? [], // the config check requires them; none would refuse every address
        country: otlpCountry ?? config.file.appliance.operator.country ?? '', // checked at boot
      },
      log,
      hooks,
    );
    const resource = resourceFromAttributes({
      'service.name': 'hunze',
      'service.instance.id': config.file.appliance.name,
    });
    const intervalMs = otlpIntervalSeconds * 1000;
    const spans = new SpanQueue(sender, new OtlpSpanEncoder(resource), log, { intervalMs });
    const metrics = new RequestMetrics(resource);
    // The SDK keeps the export schedule, timeout, temporality and flush; the data points come from `metrics`.
    const meter = new MeterProvider({
      resource,
      readers: [
        new PeriodicExportingMetricReader({
          exporter: new OtlpMetricExporter(sender),
          exportIntervalMillis: intervalMs,
          exportTimeoutMillis: Math.min(intervalMs, 10_000),
          metricProducers: [metrics],
        }),
      ],
    });
    this.pipeline = { sender, spans, metrics, meter };
  }

  get enabled(): boolean {
    return this.pipeline !== undefined;
  }

  take(record: RequestRecord): void {
    if (!this.pipeline) return;
    this.pipeline.spans.add(record);
    this.pipeline.metrics.record(record);
  }

  /** Exports what is pending now; failed exports are already logged by the sender, so this never rejects. */
  async forceFlush(): Promise<void> {
    if (!this.pipeline) return;
    await Promise.allSettled([this.pipeline.spans.forceFlush(), this.pipeline.meter.forceFlush()]);
  }

  /** Flushes what is pending (Nest calls this after the HTTP server has closed), then closes the pool. */
  async onApplicationShutdown(): Promise<void> {
    if (!this.pipeline) return;
    const { spans, meter, sender } = this.pipeline;
    await Promise.allSettled([spans.shutdown(), meter.shutdown()]);
    await sender.close();
  }
}
