// Property tests against the live server: whatever body reaches POST /v1/chat/completions with a valid key,
// the answer is never a 5xx (the fake upstream answers well, so no 502/503/504 either), every error is
// OpenAI-shaped, and no error quotes the input. Bounded in runs and time; fast-check prints a seed to replay.
import fc from 'fast-check';
import { FakeVllm } from '../fakes/fake-vllm';
import { isOpenAiError, send } from '../helpers/raw-http';
import { startTestApp, type TestApp } from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
/** Every string the fuzzer sends carries this tag, so an echo of input shows up in an answer. */
const TAG = 'CNRY';
/** Stops a property early (not a failure) on a machine so loaded that the runs would outlast the test. */
const RUN_LIMIT = { interruptAfterTimeLimit: 60_000 };

const tagged = fc.string({ maxLength: 12 }).map((s) => `${TAG}${s}`);
const json = fc.jsonValue({ maxDepth: 3 }).map(tagStrings);
const maybe = <T>(known: fc.Arbitrary<T>) => fc.oneof({ arbitrary: known, weight: 3 }, json);
const content = fc.oneof(
  tagged,
  fc.constant(null),
  fc.array(fc.record({ type: fc.constant('text'), text: tagged })),
);
const message = fc.record({ role: fc.constantFrom('system', 'user', 'assistant'), content });
/** Valid chat requests: they reach the fake upstream and must come back 200. */
const validChat = fc.record(
  {
    model: fc.constantFrom(MODEL, 'qwen', 'auto'),
    messages: fc.array(message, { minLength: 1, maxLength: 4 }),
    stream: fc.boolean(),
    stream_options: fc.record({ include_usage: fc.boolean() }),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    n: fc.integer({ min: 1, max: 4 }),
    stop: fc.array(tagged, { maxLength: 4 }),
    user: tagged,
  },
  { requiredKeys: ['model', 'messages'] },
);
const FIELDS = [
  'model',
  'messages',
  'stream',
  'stream_options',
  'temperature',
  'top_p',
  'n',
  'max_tokens',
  'stop',
];
/** A valid request with one field, or one message's field, set to an arbitrary JSON value. */
const oneFieldWrong = fc
  .tuple(validChat, fc.constantFrom(...FIELDS, 'role', 'content', 'tools', 'tool_choice', 'routing'), json)
  .map(([body, field, value]) => {
    if (field !== 'role' && field !== 'content') return { ...body, [field]: value };
    return { ...body, messages: body.messages.map((m, i) => (i === 0 ? { ...m, [field]: value } : m)) };
  });
/** The real field names, each with a right, wrong or absent value. */
const looseChat = fc.record(
  Object.fromEntries(FIELDS.map((f) => [f, maybe(validChat.map((b) => b[f as keyof typeof b]))])),
  { requiredKeys: [] },
);
const chatLike = fc.oneof(validChat, oneFieldWrong, looseChat);

function tagStrings(value: unknown): unknown {
  if (typeof value === 'string') return `${TAG}${value}`;
  if (Array.isArray(value)) return value.map(tagStrings);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [`${TAG}${k}`, tagStrings(v)]));
  return value;
}

describe('fuzzing POST /v1/chat/completions', () => {
  let upstream: FakeVllm;
  let hunze: TestApp;
  let key: string;
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: MODEL });
    hunze = await startTestApp({
      upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
      models: [{ id: MODEL, aliases: ['qwen'], upstreams: ['vllm-a'] }],
    });
    ({ key } = await hunze.createKey({ name: 'fuzz' }));
  });

  afterAll(async () => {
    await hunze.close();
    await upstream.close();
  });

  /** Sends one body; true when the answer is a success or a clean, quiet, OpenAI-shaped 4xx. */
  async function answersCleanly(
    body: string | Uint8Array,
    contentType = 'application/json',
  ): Promise<boolean> {
    const res = await send(`${hunze.url}/v1/chat/completions`, {
      headers: { authorization: `Bearer ${key}`, 'content-type': contentType },
      body,
    });
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status >= 500) return false;
    if (res.status < 300) return true;
    return isOpenAiError(res.text) && !res.text.includes(TAG) && !!res.headers['x-request-id'];
  }

  it('answers arbitrary JSON values cleanly', async () => {
    await fc.assert(
      fc.asyncProperty(json, (value) => answersCleanly(JSON.stringify(value))),
      { numRuns: 50, ...RUN_LIMIT },
    );
  });

  it('answers chat-shaped records with arbitrary field values cleanly', async () => {
    await fc.assert(
      fc.asyncProperty(chatLike, (value) => answersCleanly(JSON.stringify(value))),
      { numRuns: 60, ...RUN_LIMIT },
    );
  });

  it('answers arbitrary bytes under any content type cleanly', async () => {
    const contentType = fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'text/plain',
      'application/octet-stream',
      'multipart/form-data; boundary=fuzz',
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), contentType, (bytes, type) =>
        answersCleanly(bytes, type),
      ),
      { numRuns: 40, ...RUN_LIMIT },
    );
  });

  it('is still healthy, logged no unhandled error and no input', async () => {
    expect([...statuses.keys()].some((s) => s === 200)).toBe(true); // the fuzzer reached the upstream too
    expect([...statuses.keys()].some((s) => s === 400)).toBe(true);
    expect((await send(`${hunze.url}/healthz`, { method: 'GET' })).status).toBe(200);
    expect(hunze.logLines.filter((l) => l.includes('"level":50'))).toEqual([]);
    expect(hunze.logLines.join('\n')).not.toContain(TAG);
  });
});
