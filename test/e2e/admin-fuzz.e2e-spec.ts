// Property tests of the admin API against the live server: whatever path parameter, query string or JSON body
// reaches a route with a valid admin key, the answer is never a 5xx and every error is OpenAI-shaped with a
// request id. The values aim at what breaks databases and date parsers: NUL and other control characters,
// unpaired surrogates, invalid percent-encoding, years 0 and ±275760, numbers past every integer column.
// Bounded in runs and time; fast-check prints a seed to replay.
import fc from 'fast-check';
import { FakeVllm } from '../fakes/fake-vllm';
import { isOpenAiError, send } from '../helpers/raw-http';
import { ADMIN_KEY, startTestApp, type TestApp } from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';
const RUNS = 500;
/** Stops a property early (not a failure) on a machine so loaded that the runs would outlast the test. */
const RUN_LIMIT = { interruptAfterTimeLimit: 10_000 };

const nasty = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u001b[2J',
  '\u007f',
  '\u0085',
  '\ud800',
  '\udfff',
  'x\ude00\ud83d',
  '😀',
  '\ufeff',
  '../..',
  '%',
  'x'.repeat(201),
);
const text = fc.oneof(nasty, fc.string({ unit: 'binary', maxLength: 24 }), fc.string({ maxLength: 12 }));
const date = fc.oneof(
  fc.constantFrom(
    '0000-01-01T00:00:00Z',
    '+275760-09-13T00:00:00Z',
    '-271821-04-20T00:00:00Z',
    '+010000-01-01T00:00:00Z',
    '1969-12-31T23:59:59Z',
    '1970-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999Z',
    '2026-02-30',
    '2026-W05',
    '20260101',
    '2026-001',
    '2026-01-01T00:00:00+25:00',
    'Dec 7 2026',
  ),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.integer().map(String),
  text,
);
const number = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, 1, 2 ** 31, 2 ** 53, 2 ** 63, Number.MAX_VALUE, Number.MIN_VALUE, -1),
);
/** Number literals JSON.stringify cannot write: too large, too small, too long. */
const RAW_NUMBERS = ['1e400', '-1e400', '1E-400', '123456789012345678901234567890', '0.0000001', '-0'];
const anyJson = fc.jsonValue({ maxDepth: 2 });
const either = <T>(known: fc.Arbitrary<T>) => fc.oneof({ arbitrary: known, weight: 4 }, anyJson, text);

const keyBody = fc.record(
  {
    name: either(text),
    account: either(text),
    role: either(fc.constantFrom('user', 'admin', 'dpo')),
    models: either(fc.array(fc.oneof(fc.constant(MODEL), text), { maxLength: 3 })),
    rpm: either(number),
    tpm: either(number),
    monthly_tokens: either(number),
    expires_at: either(date),
  },
  { requiredKeys: [] },
);
const limitsBody = fc.record(
  { rpm: either(number), tpm: either(number), monthly_tokens: either(number) },
  {
    requiredKeys: [],
  },
);
/** A JSON body, sometimes with one number field written as a literal JSON.stringify cannot produce. */
const withRawNumber = <T extends object>(body: fc.Arbitrary<T>, fields: string[]) =>
  fc.oneof(
    { arbitrary: body.map((b) => JSON.stringify(b)), weight: 4 },
    fc
      .tuple(body, fc.constantFrom(...fields), fc.constantFrom(...RAW_NUMBERS))
      .map(([b, field, literal]) =>
        JSON.stringify({ ...b, [field]: 0 }).replace(`"${field}":0`, `"${field}":${literal}`),
      ),
  );

/** Percent-encodes text byte by byte; an unpaired surrogate as the 3 bytes no UTF-8 decoder accepts. */
function pct(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    const next = value.charCodeAt(i + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(value.slice(i, i + 2));
      i++;
    } else if (unit >= 0xd800 && unit <= 0xdfff) {
      out += [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    } else {
      out += encodeURIComponent(value[i]!);
    }
  }
  return out;
}
/** Raw URL pieces: invalid escapes, an overlong NUL, an encoded lone surrogate, separators. */
const rawPiece = fc.constantFrom('%00', '%ZZ', '%E0%A4%A', '%ED%A0%80', '%C0%80', '%2F', '%25', ';', '..');
const pathSegment = fc
  .array(fc.oneof({ arbitrary: text.map(pct), weight: 3 }, rawPiece), { minLength: 1, maxLength: 3 })
  .map((parts) => parts.join(''));
const queryString = (known: string[], values: fc.Arbitrary<string>) =>
  fc
    .array(
      fc.tuple(
        fc.oneof(
          { arbitrary: fc.constantFrom(...known), weight: 4 },
          fc.constantFrom('__proto__', 'constructor'),
          text,
        ),
        fc.oneof({ arbitrary: values.map(pct), weight: 4 }, rawPiece),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => pairs.map(([k, v]) => `${pct(k)}=${v}`).join('&'));

describe('fuzzing the admin API', () => {
  let upstream: FakeVllm;
  let hunze: TestApp;
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: MODEL });
    hunze = await startTestApp({
      upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
      models: [{ id: MODEL, upstreams: ['vllm-a'] }],
    });
  });

  afterAll(async () => {
    await hunze.close();
    await upstream.close();
  });

  /** One request; true when the answer is a success or a clean, OpenAI-shaped 4xx with a request id. */
  async function answersCleanly(method: string, path: string, body?: string): Promise<boolean> {
    const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await send(`${hunze.url}/admin/v1${path}`, { method, headers, body });
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status >= 500) return false;
    if (res.status < 300) return true;
    return isOpenAiError(res.text) && !!res.headers['x-request-id'];
  }

  it('POST /admin/v1/keys: arbitrary key bodies', async () => {
    const body = withRawNumber(keyBody, ['rpm', 'tpm', 'monthly_tokens']);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { arbitrary: body, weight: 4 },
          anyJson.map((v) => JSON.stringify(v)),
        ),
        (b) => answersCleanly('POST', '/keys', b),
      ),
      { numRuns: RUNS, ...RUN_LIMIT },
    );
  });

  it('PUT /admin/v1/accounts/{name}: arbitrary names and limits', async () => {
    const body = withRawNumber(limitsBody, ['rpm', 'tpm', 'monthly_tokens']);
    await fc.assert(
      fc.asyncProperty(pathSegment, body, (name, b) => answersCleanly('PUT', `/accounts/${name}`, b)),
      { numRuns: RUNS, ...RUN_LIMIT },
    );
  });

  it('DELETE /admin/v1/keys/{id}: arbitrary ids', async () => {
    const id = fc.oneof(
      pathSegment,
      fc.tuple(fc.uuid(), fc.nat({ max: 35 })).map(([u, i]) => `${u.slice(0, i)}-${u.slice(i + 1)}`),
      fc.stringMatching(/^[0-9a-fA-F-]{30,40}$/),
    );
    await fc.assert(
      fc.asyncProperty(id, (i) => answersCleanly('DELETE', `/keys/${i}`)),
      { numRuns: RUNS, ...RUN_LIMIT },
    );
  });

  it('GET /admin/v1/audit: arbitrary query strings', async () => {
    const value = fc.oneof(date, number.map(String), fc.constantFrom('key.created', 'config.loaded'), text);
    await fc.assert(
      fc.asyncProperty(queryString(['from', 'to', 'action', 'after', 'limit'], value), (q) =>
        answersCleanly('GET', `/audit?${q}`),
      ),
      { numRuns: RUNS, ...RUN_LIMIT },
    );
  });

  it('GET /admin/v1/usage: arbitrary query strings', async () => {
    const value = fc.oneof(date, fc.constantFrom('model', 'key', 'account', 'day', 'json', 'csv'), text);
    await fc.assert(
      fc.asyncProperty(queryString(['from', 'to', 'group_by', 'format'], value), (q) =>
        answersCleanly('GET', `/usage?${q}`),
      ),
      { numRuns: RUNS, ...RUN_LIMIT },
    );
  });

  it('GET /admin/v1/reports/{name}: arbitrary names and query strings', async () => {
    // Not pdf: rendering one takes long enough to eat the run's time on a loaded machine.
    const name = fc.oneof(fc.constantFrom('tom', 'subprocessors'), pathSegment);
    const value = fc.oneof(fc.constantFrom('md', 'json', 'PDF', 'md '), text);
    await fc.assert(
      fc.asyncProperty(name, queryString(['format'], value), (n, q) =>
        answersCleanly('GET', `/reports/${n}?${q}`),
      ),
      { numRuns: RUNS, ...RUN_LIMIT },
    );
  });

  it('is still healthy and logged no unhandled error', async () => {
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0); // the fuzzer got through validation too
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
    expect((await send(`${hunze.url}/healthz`, { method: 'GET' })).status).toBe(200);
    expect(hunze.logLines.filter((l) => l.includes('"level":50'))).toEqual([]);
  });
});
