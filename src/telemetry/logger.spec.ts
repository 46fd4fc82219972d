import { Writable } from 'node:stream';
import pino from 'pino';
import type { RequestMetadata } from '../core/request-metadata';
import { AppLogger } from './logger';

/** Lines written to an in-memory destination. */
function sink(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

const full: RequestMetadata = {
  time: '2026-11-25T01:00:22.818Z',
  requestId: 'req_94202d3053e625da53d39f9119b96f84',
  method: 'POST',
  endpoint: '/v1/chat/completions',
  status: 200,
  latencyMs: 0.261,
  keyId: 'k-1',
  account: 'Zoë "quoted" \\ team\u2028',
  model: 'Qwen/Qwen3.6-35B-A3B-FP8',
  upstream: 'gpu-a',
  failovers: 1,
  stream: true,
  promptTokens: 12,
  completionTokens: 30,
  totalTokens: 42,
  ttftMs: 0.25,
  audioSeconds: 1.5,
  errorCode: 'upstream_error',
  cache: 'miss',
};

describe('AppLogger.request', () => {
  it.each([
    ['every field', full],
    ['the fields of a refused request', { ...full, keyId: undefined, model: undefined, stream: undefined }],
    [
      'no optional field',
      { time: full.time, requestId: 'r', method: 'GET', endpoint: '/x', status: 404, latencyMs: 0 },
    ],
  ])('writes what pino writes for the metadata record: %s', (_name, record) => {
    const ours = sink();
    const reference = sink();
    new AppLogger('info', ours.stream).request(record);
    const { time, ...rest } = record;
    pino({ level: 'info', base: undefined, timestamp: () => `,"time":"${time}"` }, reference.stream).info({
      evt: 'request',
      ...rest,
    });
    expect(ours.lines).toHaveLength(1);
    expect(ours.lines[0]).toBe(reference.lines[0]);
  });

  it('writes the key "time" once, the time the request ended', () => {
    const out = sink();
    new AppLogger('info', out.stream).request(full);
    expect(out.lines[0]!.match(/"time":/g)).toHaveLength(1);
    expect(JSON.parse(out.lines[0]!)).toMatchObject({ time: full.time, evt: 'request' });
  });

  it('keeps to the allowlist and writes nothing below its level', () => {
    const out = sink();
    new AppLogger('info', out.stream).request({ ...full, prompt: 'secret' } as unknown as RequestMetadata);
    expect(out.lines[0]).not.toContain('secret');
    const quiet = sink();
    new AppLogger('warn', quiet.stream).request(full);
    expect(quiet.lines).toEqual([]);
  });
});
