// The end of every request, in one place: its record is made once, from what its handlers learnt (req.facts)
// and what the request itself says; the usage journal takes it just before the response's last bytes go out
// (a process killed right after the client has its answer must still have the row), and the other sinks take
// it after them, in their order. No Fastify types: http-setup.ts hands over the Node response and a view of the
// request, http.module.ts chooses the sinks. A sink that throws is logged and skipped, never felt by the
// response or by the sinks after it.
import type { ServerResponse } from 'node:http';
import type { Principal } from '../core/principal';
import type { RecordSink } from '../core/record-sink';
import { isoNow } from '../core/iso-now';
import { elapsedMs, type RequestFacts } from '../core/request-context';
import type { RequestRecord } from '../core/request-record';
import type { AppLogger } from '../telemetry/logger';

/** What the record takes from the request itself, read once when it ends. */
export interface EndingRequest {
  readonly id: string;
  readonly method: string;
  /** The route pattern, never the URL (a query string may carry a key or other input); none if unmatched. */
  readonly route: string | undefined;
  readonly facts: RequestFacts | undefined;
  readonly principal: Principal | undefined;
}

/** The parts of a Node response the recorder uses. */
export type RecordedResponse = Pick<
  ServerResponse,
  'end' | 'destroyed' | 'writableFinished' | 'statusCode' | 'on'
>;

export class RequestRecorder {
  /**
   * @param journal takes the record before the last bytes of the response (the usage row's crash guarantee)
   * @param sinks take it after them, in this order
   */
  constructor(
    private readonly journal: RecordSink,
    private readonly sinks: readonly RecordSink[],
    private readonly log: AppLogger,
  ) {}

  /**
   * Records the request of `res` once, whichever comes first: its end (journal, `beforeLastBytes`, the last
   * bytes, the other sinks), or its 'close' (a client that hangs up before the end: status 499). 'close' comes
   * once per response, finished or not, so no request goes unrecorded. Per request this makes two closures
   * (the wrapped end and the close listener) over one flag: it runs for every request.
   */
  recordAtEnd(res: RecordedResponse, request: () => EndingRequest, beforeLastBytes: () => void): void {
    let made = false;
    const end = res.end as (...args: unknown[]) => ServerResponse;
    res.end = ((...args: unknown[]) => {
      let record: RequestRecord | undefined;
      if (!made) {
        made = true;
        record = this.journalled(request(), res, res.destroyed);
      }
      beforeLastBytes();
      const result = Reflect.apply(end, res, args);
      if (record) this.publish(record);
      return result;
    }) as ServerResponse['end'];
    // 'on', not 'once': the flag already makes a second 'close' do nothing, and 'once' wraps the listener.
    res.on('close', () => {
      if (made) return;
      made = true;
      this.publish(this.journalled(request(), res, !res.writableFinished));
    });
  }

  /** Makes the record and hands it to the journal. */
  private journalled(request: EndingRequest, res: RecordedResponse, clientClosed: boolean): RequestRecord {
    const record = recordOf(request, res.statusCode, clientClosed);
    this.deliver(this.journal, record);
    return record;
  }

  private publish(record: RequestRecord): void {
    for (const sink of this.sinks) this.deliver(sink, record);
  }

  private deliver(sink: RecordSink, record: RequestRecord): void {
    try {
      sink.take(record);
    } catch (err) {
      this.log.error('record_sink_failed', err, { sink: sink.name, requestId: record.requestId });
    }
  }
}

/**
 * The record of a finished request: what its handlers learnt (facts) and what the request itself says. Built
 * in one literal with every field in schema order (RECORD_FIELDS), so every record has one shape; a field
 * without a value is undefined. Facts are typed, but only primitive values are copied from them: a guard
 * against a handler putting a richer object (a body, an error) there.
 */
function recordOf(request: EndingRequest, statusCode: number, clientClosed: boolean): RequestRecord {
  const facts = request.facts ?? { startedAt: process.hrtime.bigint() };
  if (clientClosed) facts.clientClosed = true;
  const { principal } = request;
  return {
    time: isoNow(),
    requestId: request.id,
    method: request.method,
    endpoint: request.route ?? 'unmatched',
    status: facts.clientClosed ? 499 : statusCode,
    latencyMs: Math.round(elapsedMs(facts.startedAt) * 1000) / 1000,
    keyId: principal?.keyId,
    account: principal?.accountName ?? undefined,
    model: primitive(facts.model),
    upstream: primitive(facts.upstream),
    failovers: primitive(facts.failovers),
    stream: primitive(facts.stream),
    promptTokens: primitive(facts.promptTokens),
    completionTokens: primitive(facts.completionTokens),
    totalTokens: primitive(facts.totalTokens),
    ttftMs: facts.ttftMs === undefined ? undefined : Math.round(facts.ttftMs * 1000) / 1000,
    audioSeconds: primitive(facts.audioSeconds),
    errorCode: primitive(facts.errorCode),
    cache: primitive(facts.cache),
  };
}

/** The value if it is a string, number or boolean; otherwise undefined. */
function primitive<T>(value: T): T | undefined {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? value
    : undefined;
}
