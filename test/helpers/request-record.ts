// The smallest valid request record (every required field), for specs that build records and usage rows.
import type { RequestRecord } from '../../src/core/request-record';

export function minimalRecord(extra: Partial<RequestRecord> = {}): RequestRecord {
  return {
    time: '2026-01-01T00:00:00.000Z',
    requestId: 'req_1',
    method: 'POST',
    endpoint: '/v1/chat/completions',
    status: 200,
    latencyMs: 1.25,
    ...extra,
  };
}
