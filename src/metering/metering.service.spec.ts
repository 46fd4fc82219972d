import type { RequestMetadata } from '../core/request-metadata';
import { AppLogger } from '../telemetry/logger';
import { MeteringService } from './metering.service';
import type { MetricsService } from './metrics.service';
import type { RateLimits } from './rate-limits/rate-limits.service';
import type { UsageWriter } from './usage-writer';

describe('MeteringService', () => {
  const record = (endpoint: string): RequestMetadata => ({
    time: '2026-11-24T10:00:00.000Z',
    requestId: 'req-1',
    method: 'GET',
    endpoint,
    status: 200,
    latencyMs: 1,
  });

  it('writes usage rows for API routes but not for probes, scrapes and console files', () => {
    const enqueued: string[] = [];
    const service = new MeteringService(
      new AppLogger('silent'),
      { observe: () => undefined } as unknown as MetricsService,
      { consume: () => undefined } as unknown as RateLimits,
      { enqueue: (r: RequestMetadata) => enqueued.push(r.endpoint) } as unknown as UsageWriter,
    );
    for (const endpoint of [
      '/v1/chat/completions',
      '/admin/v1/usage',
      '/healthz',
      '/readyz',
      '/metrics',
      '/console',
      '/console/*',
      '/v1/models',
    ])
      service.record(record(endpoint));
    expect(enqueued).toEqual(['/v1/chat/completions', '/admin/v1/usage', '/v1/models']);
  });
});
