// The four request metrics, aggregated in plain objects and handed to the OpenTelemetry SDK only at collect
// time (as a MetricProducer of its PeriodicExportingMetricReader). The SDK's own instruments hash the attribute
// set on every call, five calls a request; here a request costs one Map lookup by a joined label key. What
// collect() returns has the shape the SDK's Counter and Histogram produce: same names, units, descriptions,
// attributes, scope, explicit buckets, cumulative values, and a start time at each series' first record.
// The series and what a request adds to them are defined with their Prometheus twins (core/request-series.ts).
import { ValueType, type Attributes } from '@opentelemetry/api';
import { millisToHrTime, type InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type DataPoint,
  type Histogram,
  type MetricData,
  type MetricDescriptor,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import type { RequestRecord } from '../core/request-record';
import {
  measure,
  OTLP_LATENCY_BUCKETS as LATENCY_BUCKETS,
  REQUEST_SERIES,
  type OtlpSeries,
} from '../core/request-series';
import { metricAttributes } from './span-attributes';

/** As MeterProvider.getMeter('hunze') names it (the SDK fills in an empty version). */
const SCOPE: InstrumentationScope = { name: 'hunze', version: '', schemaUrl: undefined };

const descriptor = ({ name, description, unit }: OtlpSeries): MetricDescriptor => ({
  name,
  description,
  unit,
  valueType: ValueType.DOUBLE,
});
const REQUESTS = descriptor(REQUEST_SERIES.requests.otlp);
const TOKENS = descriptor(REQUEST_SERIES.tokens.otlp);
const DURATION = descriptor(REQUEST_SERIES.duration.otlp);
const TTFT = descriptor(REQUEST_SERIES.ttft.otlp);

/**
 * The SDK's default cardinality limit: once this many label sets (one of them the overflow series) have been
 * recorded in a collection interval, further label sets count towards `otel.metric.overflow` until the next
 * collection. Counted per label set, as for hunze.requests.
 */
const CARDINALITY_LIMIT = 2000;
const OVERFLOW_KEY = '\u0000overflow';

interface Buckets {
  /** Date.now() at the first record: the cumulative series' start time. */
  start: number;
  counts: number[];
  sum: number;
  count: number;
  min: number;
  max: number;
}

interface Series {
  // The label values, compared on every lookup so that a separator inside a value cannot merge two series.
  route: unknown;
  status: unknown;
  model: unknown;
  upstream: unknown;
  account: unknown;
  errorCode: unknown;
  attributes: Attributes;
  /** The collection interval this series was last recorded in (for the cardinality limit). */
  epoch: number;
  start: number;
  requests: number;
  duration: Buckets | undefined;
  ttft: Buckets | undefined;
  prompt: number;
  promptStart: number;
  completion: number;
  completionStart: number;
}

function newBuckets(): Buckets {
  return {
    start: Date.now(),
    counts: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0),
    sum: 0,
    count: 0,
    min: Infinity,
    max: -Infinity,
  };
}

/**
 * As the SDK's Histogram: a negative value is dropped, NaN makes the series but counts nowhere, and a value
 * equal to a boundary counts in the bucket below it.
 */
function observe(buckets: Buckets | undefined, value: number): Buckets | undefined {
  if (value < 0) return buckets;
  buckets ??= newBuckets();
  if (Number.isNaN(value)) return buckets;
  buckets.count += 1;
  buckets.sum += value;
  if (value < buckets.min) buckets.min = value;
  if (value > buckets.max) buckets.max = value;
  let i = 0;
  while (i < LATENCY_BUCKETS.length && LATENCY_BUCKETS[i]! < value) i++;
  buckets.counts[i]! += 1;
  return buckets;
}

function sameLabels(s: Series, r: RequestRecord): boolean {
  return (
    s.route === r.endpoint &&
    s.status === r.status &&
    s.model === (r.model || undefined) &&
    s.upstream === (r.upstream || undefined) &&
    s.account === (r.account || undefined) &&
    s.errorCode === (r.errorCode || undefined)
  );
}

export class RequestMetrics implements MetricProducer {
  private readonly series = new Map<string, Series>();
  private epoch = 0;
  /** Label sets recorded in the current collection interval. */
  private touched = 0;

  /** The resource is only there to fill the type: MetricReader keeps the SDK's own resource. */
  constructor(private readonly resource: Resource) {}

  record(r: RequestRecord): void {
    const m = measure(r);
    const s = this.seriesOf(r);
    s.requests += 1;
    s.duration = observe(s.duration, m.durationSeconds);
    if (m.ttftSeconds !== undefined) s.ttft = observe(s.ttft, m.ttftSeconds);
    // As `counter.add` behind a truthiness check: zero, NaN and negative token counts add nothing.
    if (m.promptTokens > 0) {
      if (s.prompt === 0) s.promptStart = Date.now();
      s.prompt += m.promptTokens;
    }
    if (m.completionTokens > 0) {
      if (s.completion === 0) s.completionStart = Date.now();
      s.completion += m.completionTokens;
    }
  }

  private seriesOf(r: RequestRecord): Series {
    // Cheap key: the six label values joined (empty = absent, as metricAttributes drops falsy values).
    const key =
      `${r.endpoint}\u0000${r.status}\u0000${r.model ?? ''}\u0000` +
      `${r.upstream ?? ''}\u0000${r.account ?? ''}\u0000${r.errorCode ?? ''}`;
    let s = this.series.get(key);
    if (s !== undefined && s.epoch === this.epoch && sameLabels(s, r)) return s;
    if (s !== undefined && !sameLabels(s, r)) {
      // A separator inside a value made two label sets collide: key this one by its exact JSON instead.
      const exact = JSON.stringify([r.endpoint, r.status, r.model, r.upstream, r.account, r.errorCode]);
      s = this.series.get(exact);
      if (s === undefined) return this.admit(exact, r);
    }
    if (s === undefined) return this.admit(key, r);
    if (s.epoch === this.epoch) return s;
    if (this.touched >= CARDINALITY_LIMIT - 1) return this.overflow();
    s.epoch = this.epoch;
    this.touched += 1;
    return s;
  }

  private admit(key: string, r: RequestRecord): Series {
    if (this.touched >= CARDINALITY_LIMIT - 1) return this.overflow();
    const s = newSeries(r, metricAttributes(r), this.epoch);
    this.series.set(key, s);
    this.touched += 1;
    return s;
  }

  private overflow(): Series {
    let s = this.series.get(OVERFLOW_KEY);
    if (s === undefined) {
      s = newSeries(undefined, { 'otel.metric.overflow': true }, this.epoch);
      this.series.set(OVERFLOW_KEY, s);
      this.touched += 1;
    } else if (s.epoch !== this.epoch) {
      s.epoch = this.epoch;
      this.touched += 1;
    }
    return s;
  }

  /** The cumulative data points so far; a metric with no points is left out, as the SDK does. */
  collect(): Promise<CollectionResult> {
    const now = Date.now();
    const end = millisToHrTime(now);
    this.epoch += 1;
    this.touched = 0;
    const requests: DataPoint<number>[] = [];
    const tokens: DataPoint<number>[] = [];
    const duration: DataPoint<Histogram>[] = [];
    const ttft: DataPoint<Histogram>[] = [];
    for (const s of this.series.values()) {
      const { attributes } = s;
      requests.push({ attributes, startTime: millisToHrTime(s.start), endTime: end, value: s.requests });
      if (s.prompt > 0) tokens.push(tokenPoint(attributes, 'prompt', s.prompt, s.promptStart, end));
      if (s.completion > 0)
        tokens.push(tokenPoint(attributes, 'completion', s.completion, s.completionStart, end));
      if (s.duration) duration.push(histogramPoint(attributes, s.duration, end));
      if (s.ttft) ttft.push(histogramPoint(attributes, s.ttft, end));
    }
    const metrics: MetricData[] = [];
    if (requests.length > 0) metrics.push(sum(REQUESTS, requests));
    if (tokens.length > 0) metrics.push(sum(TOKENS, tokens));
    if (duration.length > 0) metrics.push(histogram(DURATION, duration));
    if (ttft.length > 0) metrics.push(histogram(TTFT, ttft));
    return Promise.resolve({
      resourceMetrics: {
        resource: this.resource,
        scopeMetrics: metrics.length > 0 ? [{ scope: SCOPE, metrics }] : [],
      },
      errors: [],
    });
  }
}

function sum(descriptor: MetricDescriptor, dataPoints: DataPoint<number>[]): MetricData {
  return {
    descriptor,
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    dataPoints,
    isMonotonic: true,
  };
}

function histogram(descriptor: MetricDescriptor, dataPoints: DataPoint<Histogram>[]): MetricData {
  return {
    descriptor,
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints,
  };
}

function tokenPoint(
  attributes: Attributes,
  tokenType: 'prompt' | 'completion',
  value: number,
  start: number,
  end: ReturnType<typeof millisToHrTime>,
): DataPoint<number> {
  return {
    attributes: { ...attributes, 'hunze.tokenType': tokenType },
    startTime: millisToHrTime(start),
    endTime: end,
    value,
  };
}

function newSeries(r: RequestRecord | undefined, attributes: Attributes, epoch: number): Series {
  return {
    route: r?.endpoint,
    status: r?.status,
    model: r?.model || undefined,
    upstream: r?.upstream || undefined,
    account: r?.account || undefined,
    errorCode: r?.errorCode || undefined,
    attributes,
    epoch,
    start: Date.now(),
    requests: 0,
    duration: undefined,
    ttft: undefined,
    prompt: 0,
    promptStart: 0,
    completion: 0,
    completionStart: 0,
  };
}

/** Copies the counts: the point must not change if a request is recorded before it is serialised. */
function histogramPoint(
  attributes: Attributes,
  b: Buckets,
  end: ReturnType<typeof millisToHrTime>,
): DataPoint<Histogram> {
  const hasMinMax = b.count > 0;
  return {
    attributes,
    startTime: millisToHrTime(b.start),
    endTime: end,
    value: {
      buckets: { boundaries: LATENCY_BUCKETS as number[], counts: b.counts.slice() },
      sum: b.sum,
      count: b.count,
      min: hasMinMax ? b.min : undefined,
      max: hasMinMax ? b.max : undefined,
    },
  };
}
