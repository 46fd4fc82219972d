// OpenTelemetry, metadata only: one span and a few metric points per request, built from the allowlisted
// metadata record (compliance/request-metadata.ts) at the same point the request log line and the usage row
// are written. No auto-instrumentation is loaded (it would record URLs, headers and SQL statements).
// Without `telemetry.otlpEndpoint` this is a no-op: no provider, no exporter, nothing kept.
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { SpanKind, SpanStatusCode, type Counter, type Histogram, type Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { RequestMetadata } from '../compliance/request-metadata';
import { HunzeConfig } from '../config/hunze-config';
import { AppLogger } from './logger';
import { OtlpMetricExporter, OtlpSender, OtlpTraceExporter, type OtlpHooks } from './otlp-exporters';
import { metricAttributes, spanAttributes } from './span-attributes';

interface Instruments {
  requests: Counter;
  tokens: Counter;
  duration: Histogram;
  timeToFirstToken: Histogram;
}

interface Pipeline {
  sender: OtlpSender;
  tracer: BasicTracerProvider;
  /** The provider's tracer, looked up once rather than per request. */
  spans: Tracer;
  meter: MeterProvider;
  instruments: Instruments;
}

/** Seconds-based buckets for request latency and time to first token (LLM answers take seconds). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

@Injectable()
export class Telemetry implements OnApplicationShutdown {
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
    const tracer = new BasicTracerProvider({
      resource,
      spanProcessors: [
        new BatchSpanProcessor(new OtlpTraceExporter(sender), { scheduledDelayMillis: intervalMs }),
      ],
    });
    const meter = new MeterProvider({
      resource,
      readers: [
        new PeriodicExportingMetricReader({
          exporter: new OtlpMetricExporter(sender),
          exportIntervalMillis: intervalMs,
          exportTimeoutMillis: Math.min(intervalMs, 10_000),
        }),
      ],
    });
    const m = meter.getMeter('hunze');
    const instruments: Instruments = {
      requests: m.createCounter('hunze.requests', { description: 'Requests answered.' }),
      tokens: m.createCounter('hunze.tokens', { description: 'Tokens counted by the upstream.' }),
      duration: m.createHistogram('hunze.request.duration', {
        unit: 's',
        description: 'Time from request to the end of the response.',
        advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
      }),
      timeToFirstToken: m.createHistogram('hunze.time_to_first_token', {
        unit: 's',
        description: 'Time from request to the first streamed token.',
        advice: { explicitBucketBoundaries: LATENCY_BUCKETS },
      }),
    };
    this.pipeline = { sender, tracer, spans: tracer.getTracer('hunze'), meter, instruments };
  }

  get enabled(): boolean {
    return this.pipeline !== undefined;
  }

  recordRequest(record: RequestMetadata): void {
    if (!this.pipeline) return;
    const { spans, instruments } = this.pipeline;
    const end = Date.parse(record.time);
    const span = spans.startSpan(`${record.method} ${record.endpoint}`, {
      kind: SpanKind.SERVER,
      startTime: end - record.latencyMs,
      attributes: spanAttributes(record),
    });
    span.setStatus({ code: record.status >= 500 ? SpanStatusCode.ERROR : SpanStatusCode.UNSET });
    span.end(end);

    const labels = metricAttributes(record);
    instruments.requests.add(1, labels);
    instruments.duration.record(record.latencyMs / 1000, labels);
    if (record.ttftMs !== undefined) instruments.timeToFirstToken.record(record.ttftMs / 1000, labels);
    if (record.promptTokens)
      instruments.tokens.add(record.promptTokens, { ...labels, 'hunze.tokenType': 'prompt' });
    if (record.completionTokens)
      instruments.tokens.add(record.completionTokens, { ...labels, 'hunze.tokenType': 'completion' });
  }

  /** Exports what is pending now; failed exports are already logged by the sender, so this never rejects. */
  async forceFlush(): Promise<void> {
    if (!this.pipeline) return;
    await Promise.allSettled([this.pipeline.tracer.forceFlush(), this.pipeline.meter.forceFlush()]);
  }

  /** Flushes what is pending (Nest calls this after the HTTP server has closed), then closes the pool. */
  async onApplicationShutdown(): Promise<void> {
    if (!this.pipeline) return;
    const { tracer, meter, sender } = this.pipeline;
    await Promise.allSettled([tracer.shutdown(), meter.shutdown()]);
    await sender.close();
  }
}
