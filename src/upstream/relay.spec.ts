// The relay without HTTP: fake upstream targets answer with exact wire bytes; what is checked is the result
// the caller gets, the record's facts, failover between targets, and that every target is released.
import { Readable } from 'node:stream';
import type { CallContext } from '../core/call-context';
import { ApiError } from '../core/errors';
import type { RequestFacts } from '../core/request-context';
import type { ResolvedModel } from '../models/model-registry.service';
import { FLUX_IMAGES } from './adapters/flux-images.adapter';
import { withFallback } from './policies';
import { Relay } from './relay';
import type { UpstreamPools } from './upstream-pools.service';
import type { UpstreamCall } from './upstream-result';
import { UpstreamStatusError, type UpstreamRequest, type UpstreamTarget } from './upstream-target';

type Reply = { status: number; chunks: string[] } | { fail: Error };

/** A target that answers each send with the next scripted reply, and counts what happened to it. */
class FakeTarget {
  inFlight = 0;
  residencyRefused = null;
  streamFailures = 0;
  readonly sent: UpstreamRequest[] = [];
  readonly dumped: number[] = [];

  constructor(
    readonly id: string,
    private readonly replies: Reply[],
  ) {}

  async send(request: UpstreamRequest) {
    this.sent.push(request);
    const reply = this.replies.shift() ?? { fail: new UpstreamStatusError(503) };
    if ('fail' in reply) throw reply.fail;
    const body = Object.assign(Readable.from(reply.chunks.map((c) => Buffer.from(c))), {
      text: async () => reply.chunks.join(''),
      dump: async () => void this.dumped.push(reply.status),
    });
    return { statusCode: reply.status, headers: {}, body };
  }

  recordStreamFailure(): void {
    this.streamFailures += 1;
  }
}

const model = {
  id: 'qwen',
  upstreams: [],
  config: { retries: { attempts: 0, backoffMs: 100 } },
} as unknown as ResolvedModel;
const usage = { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 };
const answer = JSON.stringify({ id: 'c1', choices: [{ message: { content: 'hi' } }], usage });
const sse = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
const streamed = [
  sse({ id: 'c1', choices: [{ index: 0, delta: { content: 'hi' } }] }),
  sse({ id: 'c1', choices: [], usage }) + 'data: [DONE]\n\n',
];

function relayOver(...targets: FakeTarget[]) {
  const pools = { candidates: () => targets as unknown as UpstreamTarget[] } as unknown as UpstreamPools;
  const facts: RequestFacts = { startedAt: process.hrtime.bigint() };
  const controller = new AbortController();
  const ctx: CallContext = {
    requestId: 'req-1',
    principal: { keyId: 'k1' } as CallContext['principal'],
    signal: controller.signal,
    facts,
  };
  return { relay: new Relay(pools), ctx, facts, controller };
}

const call = (over: Partial<UpstreamCall> = {}): UpstreamCall => ({
  path: '/chat/completions',
  model,
  body: '{"model":"qwen"}',
  stream: false,
  ...over,
});

async function text(events: Readable): Promise<string> {
  let out = '';
  for await (const chunk of events) out += String(chunk);
  return out;
}

describe('Relay', () => {
  it('returns a whole answer as the upstream sent it, with its usage noted in the record', async () => {
    const target = new FakeTarget('a', [{ status: 200, chunks: [answer] }]);
    const { relay, ctx, facts } = relayOver(target);
    const result = await relay.send(call(), ctx);
    expect(result).toMatchObject({ kind: 'json', text: answer, usage });
    expect(facts).toMatchObject({
      model: 'qwen',
      stream: false,
      upstream: 'a',
      promptTokens: 5,
      totalTokens: 7,
    });
    expect(facts.ttftMs).toBeGreaterThanOrEqual(0);
    expect(target.sent[0]!.headers).toEqual({ 'content-type': 'application/json', 'x-request-id': 'req-1' });
    expect(target.sent[0]!.signal).toBe(ctx.signal);
    expect(target.inFlight).toBe(0);
  });

  it('fails over to the next upstream on a 5xx or a transport error, and says how often', async () => {
    const refused = Object.assign(new Error('connect'), { code: 'ECONNREFUSED' });
    const a = new FakeTarget('a', [{ fail: new UpstreamStatusError(503) }]);
    const b = new FakeTarget('b', [{ fail: refused }]);
    const c = new FakeTarget('c', [{ status: 200, chunks: [answer] }]);
    const { relay, ctx, facts } = relayOver(a, b, c);
    await expect(relay.json(call(), ctx)).resolves.toMatchObject({ kind: 'json' });
    expect(facts).toMatchObject({ upstream: 'c', failovers: 2 });
    expect([a, b, c].map((t) => t.inFlight)).toEqual([0, 0, 0]);
  });

  it('answers a 4xx as the request fault at once, unread and without failover', async () => {
    const a = new FakeTarget('a', [{ status: 400, chunks: ['{"error":"quotes the prompt"}'] }]);
    const b = new FakeTarget('b', [{ status: 200, chunks: [answer] }]);
    const { relay, ctx } = relayOver(a, b);
    await expect(relay.json(call(), ctx)).rejects.toMatchObject({ code: 'upstream_rejected' });
    expect(a.dumped).toEqual([400]);
    expect(b.sent).toHaveLength(0);
  });

  it('gives the last failure when every upstream failed', async () => {
    const timeout = Object.assign(new Error('headers'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
    const { relay, ctx, facts } = relayOver(
      new FakeTarget('a', [{ fail: new UpstreamStatusError(502) }]),
      new FakeTarget('b', [{ fail: timeout }]),
    );
    await expect(relay.json(call(), ctx)).rejects.toMatchObject({ code: 'upstream_timeout' });
    expect(facts).toMatchObject({ upstream: 'b', failovers: 2 });
  });

  it('sends a body that cannot be replayed (an upload stream) to one upstream only', async () => {
    const a = new FakeTarget('a', [{ fail: new UpstreamStatusError(503) }]);
    const b = new FakeTarget('b', [{ status: 200, chunks: [answer] }]);
    const { relay, ctx } = relayOver(a, b);
    const upload = Readable.from([Buffer.from('--form--')]);
    await expect(relay.json(call({ body: upload }), ctx)).rejects.toMatchObject({
      code: 'upstream_overloaded',
    });
    expect(b.sent).toHaveLength(0);
  });

  it('stops at once when the client went away (no failover)', async () => {
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    const a = new FakeTarget('a', [{ fail: abort }]);
    const b = new FakeTarget('b', [{ status: 200, chunks: [answer] }]);
    const { relay, ctx } = relayOver(a, b);
    await expect(relay.json(call(), ctx)).rejects.toMatchObject({ code: 'upstream_connection_failed' });
    expect(b.sent).toHaveLength(0);
  });

  describe("with the model's retries", () => {
    const retrying = (attempts: number): ResolvedModel =>
      ({ ...model, config: { retries: { attempts, backoffMs: 0 } } }) as unknown as ResolvedModel;

    it('goes over the upstreams again after a round of 503s, counting every failed attempt', async () => {
      const a = new FakeTarget('a', [
        { fail: new UpstreamStatusError(503) },
        { status: 200, chunks: [answer] },
      ]);
      const b = new FakeTarget('b', [{ fail: new UpstreamStatusError(503) }]);
      const { relay, ctx, facts } = relayOver(a, b);
      await expect(relay.json(call({ model: retrying(1) }), ctx)).resolves.toMatchObject({ text: answer });
      expect([a.sent.length, b.sent.length]).toEqual([2, 1]);
      expect(facts).toMatchObject({ upstream: 'a', failovers: 2 });
      expect([a.inFlight, b.inFlight]).toEqual([0, 0]);
    });

    it('retries a stream that failed before its first chunk', async () => {
      const a = new FakeTarget('a', [
        { fail: new UpstreamStatusError(429) },
        { status: 200, chunks: streamed },
      ]);
      const { relay, ctx } = relayOver(a);
      const result = await relay.stream(call({ model: retrying(2) }), ctx);
      expect(await text(result.events)).toBe(streamed[0] + 'data: [DONE]\n\n');
      expect(a.sent).toHaveLength(2);
    });

    it('gives up after its attempts with the last failure, and never retries an upload stream', async () => {
      const a = new FakeTarget('a', []); // 503 for ever
      const { relay, ctx, facts } = relayOver(a);
      await expect(relay.json(call({ model: retrying(2) }), ctx)).rejects.toMatchObject({
        code: 'upstream_overloaded',
      });
      expect([a.sent.length, facts.failovers]).toEqual([3, 3]);

      const once = new FakeTarget('b', []);
      const upload = relayOver(once);
      const body = Readable.from([Buffer.from('--form--')]);
      await expect(upload.relay.json(call({ model: retrying(2), body }), upload.ctx)).rejects.toMatchObject({
        code: 'upstream_overloaded',
      });
      expect(once.sent).toHaveLength(1);
    });
  });

  it('sends what a backend adapter makes of its input and gives back what it reads', async () => {
    const image = Buffer.from('png').toString('base64');
    const target = new FakeTarget('a', [
      { status: 200, chunks: [JSON.stringify({ created: 1, data: [{ b64_json: image }] })] },
    ]);
    const { relay, ctx } = relayOver(target);
    const answer = await relay.through(FLUX_IMAGES, { prompt: 'a lighthouse', n: 1 }, model, ctx);
    expect(answer).toEqual({ created: 1, images: [{ b64: image }] });
    expect(target.sent[0]!.path).toBe('/images/generations');
    expect(JSON.parse(target.sent[0]!.body as string)).toMatchObject({
      model: 'qwen',
      response_format: 'b64_json',
    });
    const broken = relayOver(new FakeTarget('a', [{ status: 200, chunks: ['{"data":[]}'] }]));
    await expect(broken.relay.through(FLUX_IMAGES, { prompt: 'x' }, model, broken.ctx)).rejects.toMatchObject(
      {
        code: 'upstream_error',
      },
    );
  });

  it('refuses a 2xx whose body is not a JSON object', async () => {
    const { relay, ctx } = relayOver(new FakeTarget('a', [{ status: 200, chunks: ['[1,2]'] }]));
    await expect(relay.json(call(), ctx)).rejects.toMatchObject({ code: 'upstream_error' });
  });

  it('streams checked events, hides the usage chunk the client did not ask for, and settles usage', async () => {
    const target = new FakeTarget('a', [{ status: 200, chunks: streamed }]);
    const { relay, ctx, facts } = relayOver(target);
    const result = await relay.stream(call(), ctx);
    expect(result.kind).toBe('stream');
    const out = await text(result.events);
    expect(out).toBe(streamed[0] + 'data: [DONE]\n\n');
    await expect(result.usage).resolves.toEqual(usage);
    expect(facts).toMatchObject({ stream: true, promptTokens: 5, completionTokens: 2, totalTokens: 7 });
    expect(facts.errorCode).toBeUndefined();
    expect(target.inFlight).toBe(0);
  });

  it('keeps the usage chunk for a client that asked for it', async () => {
    const { relay, ctx } = relayOver(new FakeTarget('a', [{ status: 200, chunks: streamed }]));
    const result = await relay.stream(call({ clientWantsUsage: true }), ctx);
    expect(await text(result.events)).toBe(streamed.join(''));
  });

  it('fails over when a stream ends before its first byte, and marks a stream cut short', async () => {
    const empty = new FakeTarget('a', [{ status: 200, chunks: [] }]);
    const cut = new FakeTarget('b', [{ status: 200, chunks: [streamed[0]!] }]);
    const { relay, ctx, facts } = relayOver(empty, cut);
    const result = await relay.stream(call(), ctx);
    const out = await text(result.events);
    expect(empty.streamFailures).toBe(1);
    expect(out.startsWith(streamed[0]!)).toBe(true);
    expect(out).toContain('"code":"upstream_error"');
    expect(out.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(facts).toMatchObject({ upstream: 'b', failovers: 1, errorCode: 'upstream_error' });
    await expect(result.usage).resolves.toBeNull();
  });

  it('stops reading the upstream when the client side of the stream is destroyed', async () => {
    const endless = new Readable({ read() {} });
    endless.push(streamed[0]);
    const target = new FakeTarget('a', []);
    target.send = async () => ({
      statusCode: 200,
      headers: {},
      body: Object.assign(endless, { text: async () => '', dump: async () => undefined }),
    });
    const { relay, ctx } = relayOver(target);
    const result = await relay.stream(call(), ctx);
    const closed = new Promise((resolve) => endless.once('close', resolve));
    result.events.destroy();
    await closed;
    expect(endless.destroyed).toBe(true);
    await expect(result.usage).resolves.toBeNull();
    expect(target.inFlight).toBe(0);
  });
});

describe('withFallback', () => {
  const failing = (code: 'upstream_unavailable' | 'model_not_found') => () =>
    Promise.reject(new ApiError(code));

  it('tries the second choice once, told why the first failed', async () => {
    const second = jest.fn(async (failure: ApiError) => `second after ${failure.code}`);
    await expect(withFallback(failing('upstream_unavailable'), second, (e) => e.status >= 500)).resolves.toBe(
      'second after upstream_unavailable',
    );
    expect(second).toHaveBeenCalledTimes(1);
  });

  it('passes the first failure on when it may not fall back, or has nowhere to go', async () => {
    const second = jest.fn(async () => 'never');
    await expect(
      withFallback(failing('model_not_found'), second, (e) => e.status >= 500),
    ).rejects.toMatchObject({
      code: 'model_not_found',
    });
    await expect(withFallback(failing('upstream_unavailable'), undefined, () => true)).rejects.toMatchObject({
      code: 'upstream_unavailable',
    });
    expect(second).not.toHaveBeenCalled();
  });
});
