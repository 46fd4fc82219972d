// MetricsService on its own: one metadata record becomes the request, error, token, duration and TTFT
// series; label values come only from config; an open stream is closed once however often it is closed.
import type { RequestRecord } from '../core/request-record';
import type { HunzeConfig } from '../config/hunze-config';
import { MetricsService } from './metrics.service';

const config = {
  file: { models: [{ id: 'm1' }], upstreams: [{ id: 'up-a' }, { id: 'up-b' }] },
} as unknown as HunzeConfig;

const record = (extra: Partial<RequestRecord> = {}): RequestRecord => ({
  time: '2026-01-01T00:00:00.000Z',
  requestId: 'req_1',
  method: 'POST',
  endpoint: '/v1/chat/completions',
  status: 200,
  latencyMs: 1500,
  model: 'm1',
  upstream: 'up-a',
  ...extra,
});

async function value(metrics: MetricsService, name: string, labels: Record<string, string>) {
  const metric = await metrics.registry.getSingleMetric(name)!.get();
  const match = metric.values.find((v) =>
    Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want),
  );
  return match?.value;
}

describe('MetricsService', () => {
  it('counts a streamed request with its tokens, duration and time to first token', async () => {
    const metrics = new MetricsService(config);
    metrics.take(
      record({ stream: true, promptTokens: 7, completionTokens: 9, totalTokens: 16, ttftMs: 120 }),
    );
    const labels = { endpoint: '/v1/chat/completions', model: 'm1', upstream: 'up-a' };
    expect(await value(metrics, 'hunze_requests_total', { ...labels, status: '200' })).toBe(1);
    expect(
      await value(metrics, 'hunze_tokens_total', { model: 'm1', upstream: 'up-a', type: 'prompt' }),
    ).toBe(7);
    expect(
      await value(metrics, 'hunze_tokens_total', { model: 'm1', upstream: 'up-a', type: 'completion' }),
    ).toBe(9);
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'hunze_request_duration_seconds_bucket{le="2.5",endpoint="/v1/chat/completions",model="m1",upstream="up-a"} 1',
    );
    expect(text).toContain(
      'hunze_request_duration_seconds_bucket{le="1",endpoint="/v1/chat/completions",model="m1",upstream="up-a"} 0',
    );
    expect(text).toContain('hunze_time_to_first_token_seconds_sum{model="m1",upstream="up-a"} 0.12');
    expect(text).not.toContain('hunze_request_errors_total{');
  });

  it('takes no TTFT from a non-stream answer and counts errors by catalogue code', async () => {
    const metrics = new MetricsService(config);
    metrics.take(record({ ttftMs: 1500 }));
    metrics.take(record({ status: 503, errorCode: 'upstream_unavailable' }));
    metrics.take(record({ status: 200, stream: true, errorCode: 'upstream_error' })); // failed mid-stream
    metrics.take(record({ status: 499 }));
    const text = await metrics.registry.metrics();
    expect(text).not.toContain('hunze_time_to_first_token_seconds_count{');
    const errors = { endpoint: '/v1/chat/completions', model: 'm1' };
    expect(
      await value(metrics, 'hunze_request_errors_total', { ...errors, code: 'upstream_unavailable' }),
    ).toBe(1);
    expect(await value(metrics, 'hunze_request_errors_total', { ...errors, code: 'upstream_error' })).toBe(1);
    expect(await value(metrics, 'hunze_request_errors_total', { ...errors, code: 'client_closed' })).toBe(1);
  });

  it('never turns a value outside the config into a label', async () => {
    const metrics = new MetricsService(config);
    metrics.take(
      record({ model: 'client-text', upstream: 'other', status: 404, errorCode: 'model_not_found' }),
    );
    metrics.take(record({ model: undefined, upstream: undefined, endpoint: '/admin/v1/usage' }));
    const text = await metrics.registry.metrics();
    expect(text).not.toContain('client-text');
    expect(text).not.toContain('"other"');
    expect(
      await value(metrics, 'hunze_requests_total', { model: 'unknown', upstream: 'none', status: '404' }),
    ).toBe(1);
    expect(
      await value(metrics, 'hunze_requests_total', { endpoint: '/admin/v1/usage', model: 'unknown' }),
    ).toBe(1);
  });

  it('closes an open stream exactly once', async () => {
    const metrics = new MetricsService(config);
    const close = metrics.streamOpened();
    const other = metrics.streamOpened();
    expect(await value(metrics, 'hunze_open_streams', {})).toBe(2);
    close();
    close();
    expect(await value(metrics, 'hunze_open_streams', {})).toBe(1);
    other();
    expect(await value(metrics, 'hunze_open_streams', {})).toBe(0);
  });

  it('reads upstream availability at scrape time, and has the process metrics', async () => {
    const metrics = new MetricsService(config);
    const upstreams = [
      { id: 'up-a', available: true },
      { id: 'up-b', available: true },
    ];
    metrics.watchUpstreams(() => upstreams);
    expect(await value(metrics, 'hunze_upstream_up', { upstream: 'up-b' })).toBe(1);
    upstreams[1]!.available = false;
    expect(await value(metrics, 'hunze_upstream_up', { upstream: 'up-b' })).toBe(0);
    const text = await metrics.registry.metrics();
    expect(text).toContain('hunze_upstream_up{upstream="up-a"} 1');
    expect(text).toMatch(/^hunze_process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^hunze_nodejs_heap_size_used_bytes \d/m);
  });
});
