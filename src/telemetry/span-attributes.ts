// The attribute allowlist for spans and OTLP metrics: the request metadata record's fields under `hunze.`,
// plus the three standard HTTP keys. The span encoder (otlp-span-encoder.ts) writes only these keys.
import type { Attributes } from '@opentelemetry/api';
import { METADATA_FIELDS, type RequestMetadata } from '../core/request-metadata';

export const SPAN_ATTRIBUTES: ReadonlySet<string> = new Set([
  ...METADATA_FIELDS.filter((f) => f !== 'time').map((f) => `hunze.${f}`),
  'http.request.method',
  'http.route',
  'http.response.status_code',
]);

/** Low-cardinality metric labels: which model, upstream, endpoint and outcome (never key ids or request ids). */
export function metricAttributes(record: RequestMetadata): Attributes {
  const attributes: Attributes = {
    'http.route': record.endpoint,
    'http.response.status_code': record.status,
  };
  if (record.model) attributes['hunze.model'] = record.model;
  if (record.upstream) attributes['hunze.upstream'] = record.upstream;
  if (record.account) attributes['hunze.account'] = record.account;
  if (record.errorCode) attributes['hunze.errorCode'] = record.errorCode;
  return attributes;
}
