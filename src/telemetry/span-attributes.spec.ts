import { resourceFromAttributes } from '@opentelemetry/resources';
import type { RequestMetadata } from '../core/request-metadata';
import { OtlpSpanEncoder } from './otlp-span-encoder';
import { SPAN_ATTRIBUTES } from './span-attributes';

describe('span attribute allowlist', () => {
  it('builds attributes only from metadata fields', () => {
    const record = {
      time: '2026-11-24T10:00:00.000Z',
      requestId: 'req-1',
      method: 'POST',
      endpoint: '/v1/chat/completions',
      status: 200,
      latencyMs: 12,
      model: 'm',
      prompt: 'SECRET PROMPT',
    };
    const encoder = new OtlpSpanEncoder(resourceFromAttributes({ 'service.name': 'hunze' }));
    const text = Buffer.from(encoder.encode([record as RequestMetadata])).toString('utf8');
    const doc = JSON.parse(text) as {
      resourceSpans: { scopeSpans: { spans: { attributes: { key: string; value: unknown }[] }[] }[] }[];
    };
    const attributes = Object.fromEntries(
      doc.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes.map((a) => [a.key, a.value]),
    );
    expect(Object.keys(attributes).every((k) => SPAN_ATTRIBUTES.has(k))).toBe(true);
    expect(JSON.stringify(attributes)).not.toContain('SECRET');
    expect(attributes['hunze.model']).toEqual({ stringValue: 'm' });
  });
});
