import { SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { toMetadata, type RequestMetadata } from '../core/request-metadata';
import { OtlpSpanEncoder } from './otlp-span-encoder';
import { SPAN_ATTRIBUTES } from './span-attributes';

const resource = resourceFromAttributes({
  'service.name': 'hunze',
  'service.instance.id': 'Appliance "A" é',
});

const records: RequestMetadata[] = [
  {
    time: '2026-11-24T10:00:00.500Z',
    requestId: 'req_1',
    method: 'POST',
    endpoint: '/v1/chat/completions',
    status: 200,
    latencyMs: 1234.567,
    keyId: 'key_1',
    account: 'acme "quoted" \u2028 ü',
    model: 'Qwen/Qwen3.6-35B-A3B-FP8',
    upstream: 'vllm-a',
    failovers: 0,
    stream: true,
    promptTokens: 10,
    completionTokens: 5,
    totalTokens: 15,
    ttftMs: 42.125,
    cache: 'miss',
  },
  {
    time: '2026-11-24T10:00:02.000Z',
    requestId: 'req_2',
    method: 'POST',
    endpoint: '/v1/embeddings',
    status: 502,
    latencyMs: 30001,
    model: 'e',
    audioSeconds: 1.5,
    errorCode: 'upstream_unavailable',
  },
  {
    time: '2026-11-24T10:00:03.999Z',
    requestId: 'req_3',
    method: 'GET',
    endpoint: '/v1/models',
    status: 200,
    latencyMs: 0.001,
  },
  // An end before the start: the SDK makes it a zero-length span.
  {
    time: '2026-11-24T10:00:04.000Z',
    requestId: 'req_4',
    method: 'GET',
    endpoint: 'unmatched',
    status: 404,
    latencyMs: -3,
  },
];

/** The previous pipeline's span attributes: the allowlisted record's fields under `hunze.`, then the HTTP keys. */
function spanAttributes(record: RequestMetadata): Attributes {
  const attributes: Attributes = {};
  for (const [field, value] of Object.entries(toMetadata(record as unknown as Record<string, unknown>))) {
    if (field !== 'time') attributes[`hunze.${field}`] = value;
  }
  attributes['http.request.method'] = record.method;
  attributes['http.route'] = record.endpoint;
  attributes['http.response.status_code'] = record.status;
  return attributes;
}

/** What the previous pipeline sent: an SDK span per record, the old allowlist sanitising, JsonTraceSerializer. */
function sdkDocument(input: RequestMetadata[]): string {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('hunze');
  for (const record of input) {
    const end = Date.parse(record.time);
    const span = tracer.startSpan(`${record.method} ${record.endpoint}`, {
      kind: SpanKind.SERVER,
      startTime: end - record.latencyMs,
      attributes: spanAttributes(record),
    });
    span.setStatus({ code: record.status >= 500 ? SpanStatusCode.ERROR : SpanStatusCode.UNSET });
    span.end(end);
  }
  // The exporter's former sanitiseSpan: allowlisted primitive attributes, no events, links or status message.
  const sanitised = exporter.getFinishedSpans().map((span): ReadableSpan => {
    const attributes: ReadableSpan['attributes'] = {};
    for (const [key, value] of Object.entries(span.attributes))
      if (SPAN_ATTRIBUTES.has(key) && ['string', 'number', 'boolean'].includes(typeof value))
        attributes[key] = value;
    return {
      name: span.name,
      kind: span.kind,
      spanContext: () => span.spanContext(),
      parentSpanContext: span.parentSpanContext,
      startTime: span.startTime,
      endTime: span.endTime,
      duration: span.duration,
      ended: span.ended,
      resource: span.resource,
      instrumentationScope: span.instrumentationScope,
      attributes,
      events: [],
      links: [],
      status: { code: span.status.code },
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
  });
  return Buffer.from(JsonTraceSerializer.serializeRequest(sanitised)!).toString('utf8');
}

const withoutIds = (json: string) =>
  json
    .replace(/"traceId":"[0-9a-f]{32}"/g, '"traceId":"T"')
    .replace(/"spanId":"[0-9a-f]{16}"/g, '"spanId":"S"');

describe('OtlpSpanEncoder', () => {
  const encoder = new OtlpSpanEncoder(resource);

  it('writes the bytes the SDK tracer and JSON serializer wrote, ids aside', () => {
    const ours = Buffer.from(encoder.encode(records)).toString('utf8');
    expect(withoutIds(ours)).toBe(withoutIds(sdkDocument(records)));
    const one = Buffer.from(encoder.encode(records.slice(0, 1))).toString('utf8');
    expect(withoutIds(one)).toBe(withoutIds(sdkDocument(records.slice(0, 1))));
  });

  it('writes the same document from slices of spans as from the whole batch', () => {
    const sliced = encoder.document([encoder.spans(records.slice(0, 1)), encoder.spans(records.slice(1))]);
    expect(withoutIds(Buffer.from(sliced).toString('utf8'))).toBe(withoutIds(sdkDocument(records)));
  });

  it('gives every span fresh, valid random ids', () => {
    const doc = JSON.parse(Buffer.from(encoder.encode([...records, ...records])).toString('utf8')) as {
      resourceSpans: { scopeSpans: { spans: { traceId: string; spanId: string }[] }[] }[];
    };
    const spans = doc.resourceSpans[0]!.scopeSpans[0]!.spans;
    expect(spans).toHaveLength(8);
    for (const s of spans) {
      expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(s.traceId).not.toMatch(/^0+$/);
      expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(s.spanId).not.toMatch(/^0+$/);
    }
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(8);
    expect(new Set(spans.map((s) => s.spanId)).size).toBe(8);
  });

  it('writes only allowlisted attributes, whatever else the record carries', () => {
    const record = {
      ...records[0]!,
      prompt: 'SECRET PROMPT',
      messages: [{ role: 'user', content: 'SECRET' }],
      headers: { authorization: 'SECRET' },
      model: { nested: 'SECRET' },
    } as unknown as RequestMetadata;
    const text = Buffer.from(encoder.encode([record])).toString('utf8');
    expect(text).not.toContain('SECRET');
    const doc = JSON.parse(text) as {
      resourceSpans: { scopeSpans: { spans: { attributes: { key: string }[]; events: unknown[] }[] }[] }[];
    };
    const span = doc.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    expect(span.attributes.every((a) => SPAN_ATTRIBUTES.has(a.key))).toBe(true);
    expect(span.attributes.map((a) => a.key)).not.toContain('hunze.model');
    expect(span.attributes.map((a) => a.key)).not.toContain('hunze.time');
    expect(span.events).toEqual([]);
  });
});
