import type { Attributes } from '@opentelemetry/api';
import { JsonMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, MetricReader, type MetricProducer } from '@opentelemetry/sdk-metrics';
import type { RequestRecord } from '../core/request-record';
import { metricAttributes } from './span-attributes';
import { OTLP_LATENCY_BUCKETS as LATENCY_BUCKETS } from '../core/request-series';
import { RequestMetrics } from './request-metrics';

class TestReader extends MetricReader {
  constructor(metricProducers: MetricProducer[] = []) {
    super({ metricProducers });
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  /** The OTLP JSON document an export would send, collection times masked. */
  async document(): Promise<string> {
    const { resourceMetrics } = await this.collect();
    if (resourceMetrics.scopeMetrics.length === 0) return '';
    const text = Buffer.from(JsonMetricsSerializer.serializeRequest(resourceMetrics)!).toString('utf8');
    return text.replace(/"(startTimeUnixNano|timeUnixNano)":"\d+"/g, '"$1":"T"');
  }
}

const resource = resourceFromAttributes({ 'service.name': 'hunze', 'service.instance.id': 'test' });

/** The previous per-request instrument calls, as the reference for what consumers receive. */
function sdkPipeline() {
  const reader = new TestReader();
  const meter = new MeterProvider({ resource, readers: [reader] }).getMeter('hunze');
  const requests = meter.createCounter('hunze.requests', { description: 'Requests answered.' });
  const tokens = meter.createCounter('hunze.tokens', { description: 'Tokens counted by the upstream.' });
  const duration = meter.createHistogram('hunze.request.duration', {
    unit: 's',
    description: 'Time from request to the end of the response.',
    advice: { explicitBucketBoundaries: [...LATENCY_BUCKETS] },
  });
  const ttft = meter.createHistogram('hunze.time_to_first_token', {
    unit: 's',
    description: 'Time from request to the first streamed token.',
    advice: { explicitBucketBoundaries: [...LATENCY_BUCKETS] },
  });
  const record = (r: RequestRecord) => {
    const labels: Attributes = metricAttributes(r);
    requests.add(1, labels);
    duration.record(r.latencyMs / 1000, labels);
    if (r.ttftMs !== undefined) ttft.record(r.ttftMs / 1000, labels);
    if (r.promptTokens) tokens.add(r.promptTokens, { ...labels, 'hunze.tokenType': 'prompt' });
    if (r.completionTokens) tokens.add(r.completionTokens, { ...labels, 'hunze.tokenType': 'completion' });
  };
  return { reader, record };
}

function ourPipeline() {
  const metrics = new RequestMetrics(resource);
  const reader = new TestReader([metrics]);
  new MeterProvider({ resource, readers: [reader] });
  return { reader, record: (r: RequestRecord) => metrics.record(r), metrics };
}

const base = { time: '2026-11-24T10:00:00.000Z', method: 'POST', endpoint: '/v1/chat/completions' };
const records: RequestRecord[] = [
  {
    ...base,
    requestId: 'a',
    status: 200,
    latencyMs: 1234.5,
    account: 'acme',
    model: 'm1',
    upstream: 'u1',
    promptTokens: 10,
    completionTokens: 5,
    ttftMs: 42,
  },
  {
    ...base,
    requestId: 'b',
    status: 200,
    latencyMs: 7,
    account: 'acme',
    model: 'm1',
    upstream: 'u1',
    promptTokens: 3,
    completionTokens: 0,
  },
  {
    ...base,
    requestId: 'c',
    endpoint: '/v1/embeddings',
    status: 502,
    latencyMs: 30001,
    model: 'e',
    errorCode: 'upstream_unavailable',
  },
  {
    ...base,
    requestId: 'd',
    method: 'GET',
    endpoint: '/v1/models',
    status: 200,
    latencyMs: 0.25,
    model: '',
    account: '',
  },
  {
    ...base,
    requestId: 'e',
    status: 200,
    latencyMs: 5,
    account: 'acme',
    model: 'm1',
    upstream: 'u1',
    completionTokens: 2,
    ttftMs: 5000,
  },
  {
    ...base,
    requestId: 'f',
    status: 499,
    latencyMs: 200_000,
    account: 'other',
    model: 'm1',
    upstream: 'u2',
    ttftMs: 10,
  },
  {
    ...base,
    requestId: 'g',
    status: 200,
    latencyMs: 2500,
    account: 'acme',
    model: 'm1',
    upstream: 'u1',
    promptTokens: 1,
  },
  // A separator inside a value must not merge two label sets.
  { ...base, requestId: 'h', status: 200, latencyMs: 1, model: 'x\u0000200', upstream: 'y' },
  { ...base, requestId: 'i', status: 200, latencyMs: 1, model: 'x', upstream: '200\u0000y' },
];

describe('RequestMetrics', () => {
  it('exports what the SDK counters and histograms exported, collection after collection', async () => {
    const sdk = sdkPipeline();
    const ours = ourPipeline();
    records.forEach(sdk.record);
    records.forEach(ours.record);
    const first = await ours.reader.document();
    expect(first).toBe(await sdk.reader.document());
    expect(first).toContain('"name":"hunze.time_to_first_token"');
    // Cumulative: a second interval adds to the first.
    records.slice(0, 3).forEach(sdk.record);
    records.slice(0, 3).forEach(ours.record);
    const second = await ours.reader.document();
    expect(second).toBe(await sdk.reader.document());
    expect(second).not.toBe(first);
  });

  it('leaves out metrics without points, and sends nothing before the first request', async () => {
    const ours = ourPipeline();
    expect(await ours.reader.document()).toBe('');
    ours.record({ ...base, requestId: 'a', status: 200, latencyMs: 3 });
    const doc = JSON.parse(await ours.reader.document()) as {
      resourceMetrics: { scopeMetrics: { scope: unknown; metrics: { name: string }[] }[] }[];
    };
    const scope = doc.resourceMetrics[0]!.scopeMetrics[0]!;
    expect(scope.scope).toEqual({ name: 'hunze', version: '' });
    expect(scope.metrics.map((m) => m.name)).toEqual(['hunze.requests', 'hunze.request.duration']);
  });

  it('starts each cumulative series at its first record and ends it at the collection', async () => {
    const metrics = new RequestMetrics(resource);
    const before = Date.now();
    metrics.record(records[0]!);
    const { resourceMetrics } = await metrics.collect();
    const after = Date.now();
    for (const metric of resourceMetrics.scopeMetrics[0]!.metrics)
      for (const point of metric.dataPoints) {
        const start = point.startTime[0] * 1000 + point.startTime[1] / 1e6;
        const end = point.endTime[0] * 1000 + point.endTime[1] / 1e6;
        expect(start).toBeGreaterThanOrEqual(before);
        expect(end).toBeGreaterThanOrEqual(start);
        expect(end).toBeLessThanOrEqual(after + 1);
      }
  });

  it('counts label sets beyond the cardinality limit in one interval as otel.metric.overflow, as the SDK does', async () => {
    const sdk = sdkPipeline();
    const ours = ourPipeline();
    for (let i = 0; i < 2003; i++) {
      const r = { ...base, requestId: `r${i}`, status: 200, latencyMs: 10, account: `a${i}` };
      sdk.record(r);
      ours.record(r);
    }
    const doc = await ours.reader.document();
    expect(doc).toBe(await sdk.reader.document());
    expect(doc).toContain('otel.metric.overflow');
  });
});
