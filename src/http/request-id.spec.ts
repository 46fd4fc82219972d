import type { IncomingMessage } from 'node:http';
import { genRequestId } from './request-id';

const request = (headers: Record<string, string> = {}) => ({ headers }) as unknown as IncomingMessage;

describe('genRequestId', () => {
  it('gives distinct req_<32 hex> ids, also across refills of its random block', () => {
    const ids = Array.from({ length: 1000 }, () => genRequestId(request()));
    for (const id of ids) expect(id).toMatch(/^req_[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keeps a well-formed inbound x-request-id and replaces a malformed one', () => {
    expect(genRequestId(request({ 'x-request-id': 'haproxy-1a2b:3c' }))).toBe('haproxy-1a2b:3c');
    expect(genRequestId(request({ 'x-request-id': 'bad id<script>' }))).toMatch(/^req_[0-9a-f]{32}$/);
  });
});
