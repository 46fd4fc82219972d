import type { RequestRecord } from '../core/request-record';
import { UsageJournal } from './usage-journal';
import type { UsageWriter } from './usage-writer';

describe('UsageJournal', () => {
  const record = (endpoint: string): RequestRecord => ({
    time: '2026-11-24T10:00:00.000Z',
    requestId: 'req-1',
    method: 'GET',
    endpoint,
    status: 200,
    latencyMs: 1,
  });

  it('writes usage rows for API routes but not for probes, scrapes and console files', () => {
    const enqueued: string[] = [];
    const journal = new UsageJournal({
      enqueue: (r: RequestRecord) => enqueued.push(r.endpoint),
    } as unknown as UsageWriter);
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
      journal.take(record(endpoint));
    expect(enqueued).toEqual(['/v1/chat/completions', '/admin/v1/usage', '/v1/models']);
  });
});
