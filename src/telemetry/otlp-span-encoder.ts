// Writes a batch of request spans straight from their metadata records as an OTLP/HTTP JSON document: the
// bytes the SDK's tracer plus JsonTraceSerializer produced (otlp-span-encoder.spec.ts compares them), without
// the SDK Span, ReadableSpan and intermediate OTLP objects per span, which cost several times as much as the
// string. Attributes come only from the allowlist (span-attributes.ts); nothing else of the record is read.
import { randomFillSync } from 'node:crypto';
import { SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { METADATA_FIELDS, type RequestMetadata } from '../core/request-metadata';
import { SPAN_ATTRIBUTES } from './span-attributes';

/** Each field's attribute key, opened as an OTLP KeyValue; in METADATA_FIELDS order, as the SDK pipeline wrote them. */
const METADATA_KEYS: readonly (readonly [keyof RequestMetadata, string])[] = METADATA_FIELDS.filter((f) =>
  SPAN_ATTRIBUTES.has(`hunze.${f}`),
).map((f) => [f, `{"key":${JSON.stringify(`hunze.${f}`)},"value":`]);
const METHOD_KEY = '{"key":"http.request.method","value":';
const ROUTE_KEY = '{"key":"http.route","value":';
const STATUS_KEY = '{"key":"http.response.status_code","value":';

/** OTLP numbers the kind from 1 (0 is unspecified); the flags carry W3C sampled plus "has is-remote" (0x100). */
const KIND = SpanKind.SERVER + 1;
const FLAGS = TraceFlags.SAMPLED | 0x100;
const ID_BYTES = 24; // a 16-byte trace id and an 8-byte span id
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);
const NANOS_PER_SECOND = BigInt(1_000_000_000);

/** An attribute value as the OTLP JSON encoder writes it, or undefined for what the SDK would drop. */
function anyValue(value: unknown): string | undefined {
  if (typeof value === 'string') return `{"stringValue":${JSON.stringify(value)}}`;
  if (typeof value === 'number')
    return Number.isInteger(value)
      ? `{"intValue":${JSON.stringify(value)}}`
      : `{"doubleValue":${JSON.stringify(value)}}`;
  if (typeof value === 'boolean') return `{"boolValue":${value}}`;
  return undefined;
}

/** Epoch milliseconds as the OTLP JSON encoder writes an HrTime: nanoseconds in a decimal string. */
function unixNanos(epochMillis: number): string {
  const [seconds, nanos] = millisToHrTime(epochMillis);
  return (BigInt(Math.trunc(seconds)) * NANOS_PER_SECOND + BigInt(Math.trunc(nanos))).toString();
}

function attributes(record: RequestMetadata): string {
  const source = record as unknown as Record<string, unknown>;
  let out = '';
  for (const [field, open] of METADATA_KEYS) {
    const value = anyValue(source[field]);
    if (value !== undefined) out += `${out === '' ? '' : ','}${open}${value}}`;
  }
  const method = anyValue(record.method);
  if (method !== undefined) out += `${out === '' ? '' : ','}${METHOD_KEY}${method}}`;
  const route = anyValue(record.endpoint);
  if (route !== undefined) out += `${out === '' ? '' : ','}${ROUTE_KEY}${route}}`;
  const status = anyValue(record.status);
  if (status !== undefined) out += `${out === '' ? '' : ','}${STATUS_KEY}${status}}`;
  return out;
}

/** One root SERVER span from request start to response end, with fresh random ids. */
function span(record: RequestMetadata, ids: Buffer, offset: number): string {
  let traceId = ids.toString('hex', offset, offset + 16);
  let spanId = ids.toString('hex', offset + 16, offset + ID_BYTES);
  // An all-zero id is invalid; the SDK's generator sets the last bit in that case too.
  if (traceId === ZERO_TRACE_ID) traceId = `${ZERO_TRACE_ID.slice(1)}1`;
  if (spanId === ZERO_SPAN_ID) spanId = `${ZERO_SPAN_ID.slice(1)}1`;
  const end = Date.parse(record.time);
  const start = end - record.latencyMs;
  // As Span.end(): an end before the start becomes a zero-length span.
  const startNanos = unixNanos(start);
  const endNanos = end < start ? startNanos : unixNanos(end);
  const status = record.status >= 500 ? SpanStatusCode.ERROR : SpanStatusCode.UNSET;
  return (
    `{"traceId":"${traceId}","spanId":"${spanId}","name":${JSON.stringify(`${record.method} ${record.endpoint}`)},` +
    `"kind":${KIND},"startTimeUnixNano":"${startNanos}","endTimeUnixNano":"${endNanos}",` +
    `"attributes":[${attributes(record)}],"droppedAttributesCount":0,"events":[],"droppedEventsCount":0,` +
    `"status":{"code":${status}},"links":[],"droppedLinksCount":0,"flags":${FLAGS}}`
  );
}

export class OtlpSpanEncoder {
  private readonly head: string;

  constructor(resource: Resource) {
    const resourceAttributes = Object.entries(resource.attributes).flatMap(([key, value]) => {
      const encoded = anyValue(value);
      return encoded === undefined ? [] : [`{"key":${JSON.stringify(key)},"value":${encoded}}`];
    });
    // The scope is what BasicTracerProvider.getTracer('hunze') gives: a name, no version or schema URL.
    this.head =
      `{"resourceSpans":[{"resource":{"attributes":[${resourceAttributes.join(',')}],"droppedAttributesCount":0},` +
      `"scopeSpans":[{"scope":{"name":"hunze"},"spans":[`;
  }

  /** The ExportTraceServiceRequest for these records, UTF-8 encoded. */
  encode(records: readonly RequestMetadata[]): Uint8Array {
    return this.document([this.spans(records)]);
  }

  /** These records' spans, comma-separated: a slice of a document, so a batch can be encoded over several ticks. */
  spans(records: readonly RequestMetadata[]): string {
    const ids = randomFillSync(Buffer.allocUnsafe(records.length * ID_BYTES));
    let out = '';
    for (let i = 0; i < records.length; i++)
      out += `${i === 0 ? '' : ','}${span(records[i]!, ids, i * ID_BYTES)}`;
    return out;
  }

  /** The document holding these slices of spans (each from `spans`, none empty), UTF-8 encoded. */
  document(slices: readonly string[]): Uint8Array {
    return Buffer.from(`${this.head}${slices.join(',')}]}]}]}`, 'utf8');
  }
}
