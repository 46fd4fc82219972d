import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { sanitiseSpan } from './otlp-exporters';
import { SPAN_ATTRIBUTES, spanAttributes } from './span-attributes';

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
    const attributes = spanAttributes(record);
    expect(Object.keys(attributes).every((k) => SPAN_ATTRIBUTES.has(k))).toBe(true);
    expect(JSON.stringify(attributes)).not.toContain('SECRET');
    expect(attributes['hunze.model']).toBe('m');
  });

  it('strips foreign attributes, events, links and the status message from a span', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const span = provider.getTracer('t').startSpan('POST /v1/chat/completions', {
      attributes: { 'hunze.model': 'm', 'http.request.body': 'SECRET', 'hunze.model.extra': 'SECRET' },
    });
    span.addEvent('exception', { 'exception.message': 'SECRET' });
    span.setStatus({ code: 2, message: 'SECRET' });
    span.end();
    const clean = sanitiseSpan(exporter.getFinishedSpans()[0]!);
    expect(clean.attributes).toEqual({ 'hunze.model': 'm' });
    expect(clean.events).toEqual([]);
    expect(clean.status).toEqual({ code: 2 });
    expect(clean.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});
