// The attribute allowlist for spans and OTLP metrics: the request record's traced fields (src/core) under
// `hunze.`, plus the three standard HTTP keys. The span encoder (otlp-span-encoder.ts) writes only these.
import type { Attributes } from '@opentelemetry/api';
import { TRACED_FIELDS, type RequestRecord } from '../core/request-record';

export const SPAN_ATTRIBUTES: ReadonlySet<string> = new Set([
  ...TRACED_FIELDS.map((f) => `hunze.${f}`),
  'http.request.method',
  'http.route',
  'http.response.status_code',
]);

/** Low-cardinality metric labels: which model, upstream, endpoint and outcome (never key ids or request ids). */
export function metricAttributes(record: RequestRecord): Attributes {
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
