// The request recorder without HTTP: a fake response that ends, closes, or both, and sinks that note what
// they were given and when.
import { EventEmitter } from 'node:events';
import type { RecordSink } from '../core/record-sink';
import type { RequestFacts } from '../core/request-context';
import { RECORD_FIELD_NAMES, type RequestRecord } from '../core/request-record';
import { AppLogger } from '../telemetry/logger';
import { RequestRecorder, type EndingRequest, type RecordedResponse } from './request-recorder';

class FakeResponse extends EventEmitter {
  statusCode = 200;
  destroyed = false;
  writableFinished = false;
  constructor(private readonly events: string[]) {
    super();
  }
  end(): this {
    this.events.push('last bytes');
    this.writableFinished = true;
    return this;
  }
  /** The socket goes; 'close' follows, as Node emits it. */
  hangUp(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

function setup(failing?: string, more: Partial<RequestFacts> = {}) {
  const events: string[] = [];
  const records: Record<string, RequestRecord[]> = {};
  const sink = (name: string): RecordSink => ({
    name,
    take(record) {
      events.push(name);
      (records[name] ??= []).push(record);
      if (name === failing) throw new Error('sink down');
    },
  });
  const logged: string[] = [];
  const log = new AppLogger('info', { write: (line: string) => void logged.push(line) });
  const recorder = new RequestRecorder(
    sink('journal'),
    ['access log', 'prometheus', 'opentelemetry', 'rate limits', 'latency'].map(sink),
    log,
  );
  const res = new FakeResponse(events);
  const facts: RequestFacts = { startedAt: process.hrtime.bigint(), model: 'm1', upstream: 'u1', ...more };
  const request = (): EndingRequest => ({
    id: 'req-1',
    method: 'POST',
    route: '/v1/chat/completions',
    facts,
    principal: { keyId: 'k1', accountName: 'team' } as EndingRequest['principal'],
  });
  recorder.recordAtEnd(res as unknown as RecordedResponse, request, () => events.push('discard'));
  return { events, records, res, facts, logged };
}

describe('RequestRecorder', () => {
  it('journals before the last bytes, then hands the record to the sinks in their order', () => {
    const { events, records, res } = setup();
    res.end();
    expect(events).toEqual([
      'journal',
      'discard',
      'last bytes',
      'access log',
      'prometheus',
      'opentelemetry',
      'rate limits',
      'latency',
    ]);
    const record = records['journal']![0]!;
    expect(record).toMatchObject({
      requestId: 'req-1',
      method: 'POST',
      endpoint: '/v1/chat/completions',
      status: 200,
      model: 'm1',
      upstream: 'u1',
      keyId: 'k1',
      account: 'team',
    });
    for (const name of ['access log', 'prometheus', 'opentelemetry', 'rate limits', 'latency'])
      expect(records[name]).toEqual([record]);
  });

  it('gives every record every schema field, in schema order: undefined where there is no value', () => {
    const { records, res } = setup(undefined, { ttftMs: 12.34567, stream: true, cache: 'hit' });
    res.end();
    const record = records['journal']![0]!;
    expect(Object.keys(record)).toEqual(RECORD_FIELD_NAMES);
    expect(record).toMatchObject({ ttftMs: 12.346, stream: true, cache: 'hit', keyId: 'k1' });
    expect(record.totalTokens).toBeUndefined();
    expect(new Date(record.time).toISOString()).toBe(record.time);
  });

  it('copies only primitive values from the facts: never an object a handler put there', () => {
    const secret = { prompt: 'SECRET' } as unknown;
    const { records, res } = setup(undefined, {
      model: secret as string,
      promptTokens: [1] as unknown as number,
      errorCode: new Error('SECRET') as unknown as RequestFacts['errorCode'],
      cache: secret as RequestFacts['cache'],
      totalTokens: 7,
    });
    res.end();
    const record = records['journal']![0]!;
    expect(record.model).toBeUndefined();
    expect(record.promptTokens).toBeUndefined();
    expect(record.errorCode).toBeUndefined();
    expect(record.cache).toBeUndefined();
    expect(record.totalTokens).toBe(7);
    for (const value of Object.values(record))
      expect(['string', 'number', 'boolean', 'undefined']).toContain(typeof value);
  });

  it('makes one record per request when both the end and the close come', () => {
    const { events, records, res } = setup();
    res.end();
    res.emit('close');
    expect(events.filter((e) => e === 'journal')).toHaveLength(1);
    expect(records['latency']).toHaveLength(1);
  });

  it('records a client that went away before the end as 499, once, on close', () => {
    const { events, records, res, facts } = setup();
    res.hangUp();
    res.end(); // a late write after the socket went: no second record
    expect(events.filter((e) => e === 'journal')).toHaveLength(1);
    expect(records['journal']![0]!.status).toBe(499);
    expect(records['prometheus']![0]!.status).toBe(499);
    expect(facts.clientClosed).toBe(true);
  });

  it('records 499 when the end is written to a response whose client already went', () => {
    const { records, res } = setup();
    res.destroyed = true;
    res.end();
    expect(records['journal']![0]!.status).toBe(499);
  });

  it('logs a failing sink and still runs the others, without throwing into the response', () => {
    const { events, res, logged } = setup('prometheus');
    expect(() => res.end()).not.toThrow();
    expect(events.slice(-3)).toEqual(['opentelemetry', 'rate limits', 'latency']);
    const line = logged.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.sink);
    expect(line).toMatchObject({ evt: 'record_sink_failed', sink: 'prometheus', requestId: 'req-1' });
  });

  it('keeps the response going when the journal itself throws', () => {
    const { events, res } = setup('journal');
    expect(() => res.end()).not.toThrow();
    expect(events).toContain('last bytes');
    expect(events.at(-1)).toBe('latency');
  });
});
