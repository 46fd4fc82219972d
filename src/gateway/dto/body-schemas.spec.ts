// The JSON schemas that let BodyValidationPipe pass valid generation bodies on without class-validator,
// fuzzed against the decorators they mirror with bodies close to valid ones: a schema must never accept
// what the DTO refuses, and the pipe's answer (value or error) must be the one class-validator alone gives.
import 'reflect-metadata';
import type { SchemaObject } from 'ajv';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import fc from 'fast-check';
import { ApiError } from '../../core/errors';
import { BodyValidationPipe, compileBodySchema } from '../../core/validation.pipe';
import { ChatCompletionDto, chatCompletionSchema, MAX_MESSAGES } from '../chat/chat-completion.dto';
import { CompletionDto, completionSchema } from '../completions/completion.dto';
import { CreateEmbeddingDto, createEmbeddingSchema } from '../embeddings/create-embedding.dto';

type Body = Record<string, unknown>;
type Ctor = new () => object;

// ---- Valid bodies ------------------------------------------------------------------------------------

/** Strings class-validator's MinLength(1) counts oddly (surrogates, variation selectors), and others. */
const text = fc.oneof(
  fc.constantFrom('m', 'Qwen/Qwen3.6-35B-A3B-FP8', 'auto', '😀', '\uFE0F', 'a\uFE0F', '\uD800', ' '),
  fc.string({ minLength: 1, maxLength: 8, unit: 'binary' }),
);
const anyText = fc.oneof(fc.constant(''), text);
const nullable = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ arbitrary: arb, weight: 4 }, fc.constant(null));
/** A number in [min, max], often one of the bounds. */
const between = (min: number, max: number, integer = false) =>
  fc.oneof(
    fc.constantFrom(min, max),
    integer ? fc.integer({ min, max }) : fc.double({ min, max, noNaN: true }),
  );
const json = fc.jsonValue({ maxDepth: 2 });
const jsonObject = fc.dictionary(fc.string({ maxLength: 6 }), json, { maxKeys: 3 });
const streamOptions = fc.record(
  { include_usage: nullable(fc.boolean()), continuous_usage_stats: nullable(fc.boolean()) },
  { requiredKeys: [] },
);
const stop = fc.oneof(anyText, fc.array(anyText, { maxLength: 4 }));
const penalty = between(-2, 2);
const logitBias = fc.dictionary(between(0, 200000, true).map(String), fc.integer({ min: -100, max: 100 }));

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'];
const part = fc.oneof(
  fc.record({ type: fc.constant('text'), text: anyText }),
  fc.record({
    type: fc.constant('image_url'),
    image_url: fc.record({ url: fc.constant('data:image/png;base64,AA=='), detail: fc.constant('auto') }),
  }),
  fc.record({ type: anyText, extra: json }, { requiredKeys: ['type'] }),
);
const toolCall = fc.record({
  id: text,
  type: fc.constant('function'),
  function: fc.record({ name: text, arguments: fc.constantFrom('{}', '{"city":"Paris"}') }),
});
const message = fc.record(
  {
    role: fc.constantFrom(...ROLES),
    content: fc.oneof(anyText, fc.constant(null), fc.array(part, { maxLength: 3 })),
    name: nullable(anyText),
    tool_calls: nullable(fc.array(toolCall, { maxLength: 2 })),
    tool_call_id: nullable(anyText),
  },
  { requiredKeys: ['role'] },
);
const tool = fc.record({
  type: fc.constant('function'),
  function: fc.record(
    { name: text, description: anyText, parameters: jsonObject },
    { requiredKeys: ['name'] },
  ),
});

const validChat = fc.record(
  {
    model: text,
    messages: fc.array(message, { minLength: 1, maxLength: 4 }),
    stream: nullable(fc.boolean()),
    stream_options: nullable(streamOptions),
    temperature: nullable(between(0, 2)),
    top_p: nullable(between(0, 1)),
    n: nullable(between(1, 128, true)),
    max_tokens: nullable(fc.integer({ min: 1 })),
    max_completion_tokens: nullable(fc.integer({ min: 1 })),
    stop: nullable(stop),
    presence_penalty: nullable(penalty),
    frequency_penalty: nullable(penalty),
    logit_bias: nullable(logitBias),
    logprobs: nullable(fc.boolean()),
    top_logprobs: nullable(between(0, 20, true)),
    seed: nullable(fc.oneof(fc.integer(), fc.constant(2 ** 53 + 2))),
    user: nullable(anyText),
    tools: nullable(fc.array(tool, { maxLength: 2 })),
    tool_choice: nullable(
      fc.oneof(
        fc.constantFrom('auto', 'none', 'required'),
        fc.record({ type: fc.constant('function'), function: fc.record({ name: text }) }),
      ),
    ),
    parallel_tool_calls: nullable(fc.boolean()),
    response_format: nullable(
      fc.oneof(
        fc.record({ type: fc.constantFrom('text', 'json_object') }),
        fc.record({
          type: fc.constant('json_schema'),
          json_schema: fc.record({ name: text, strict: fc.boolean(), schema: jsonObject }),
        }),
      ),
    ),
  },
  { requiredKeys: ['model', 'messages'] },
);

const tokenId = fc.oneof(fc.constantFrom(0, 0xffffffff), fc.nat());
const validCompletion = fc.record(
  {
    model: text,
    prompt: fc.oneof(
      anyText,
      fc.array(anyText, { minLength: 1, maxLength: 4 }),
      fc.array(tokenId, { minLength: 1, maxLength: 4 }),
      fc.array(fc.array(tokenId, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
    ),
    stream: nullable(fc.boolean()),
    stream_options: nullable(streamOptions),
    max_tokens: nullable(fc.integer({ min: 1 })),
    temperature: nullable(between(0, 2)),
    top_p: nullable(between(0, 1)),
    n: nullable(between(1, 128, true)),
    best_of: nullable(between(1, 128, true)),
    stop: nullable(stop),
    echo: nullable(fc.boolean()),
    logprobs: nullable(between(0, 5, true)),
    suffix: nullable(anyText),
    presence_penalty: nullable(penalty),
    frequency_penalty: nullable(penalty),
    logit_bias: nullable(logitBias),
    seed: nullable(fc.integer()),
    user: nullable(anyText),
  },
  { requiredKeys: ['model', 'prompt'] },
);

const validEmbedding = fc.record(
  {
    model: text,
    input: fc.oneof(
      anyText,
      fc.array(anyText, { minLength: 1, maxLength: 4 }),
      fc.array(tokenId, { minLength: 1, maxLength: 4 }),
      fc.array(fc.array(tokenId, { maxLength: 3 }), { maxLength: 3 }),
      json.filter((v) => v !== null), // the pipe checks presence only; embeddingInputs() the shape
    ),
    encoding_format: nullable(fc.constantFrom('float', 'base64')),
    dimensions: nullable(fc.integer({ min: 1 })),
    user: nullable(anyText),
  },
  { requiredKeys: ['model', 'input'] },
);

// ---- Mutations: wrong types, out-of-range values, null, absent, extra and misplaced fields -----------

const FIELD_NAMES = [
  ...Object.keys(chatCompletionSchema.properties as object),
  ...Object.keys(completionSchema.properties as object),
  ...Object.keys(createEmbeddingSchema.properties as object),
  'role',
  'content',
  'name',
  'tool_calls',
  'tool_call_id',
  'include_usage',
  'type',
  'text',
];
const key = fc.oneof(
  fc.constantFrom(...FIELD_NAMES),
  fc.constantFrom('constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'then', 'length'),
  fc.string({ maxLength: 6 }),
);
const wrong = fc.oneof(
  fc.constantFrom(
    null,
    undefined,
    true,
    false,
    ...[0, -0, 1, -1, 0.5, 1.5, 2, 2.5, -2, -2.5, 3, 5, 6, 20, 21, 128, 129, 2048, 2049],
    ...[1e308, -1e308, 0xffffffff, 2 ** 32, NaN, Infinity, -Infinity],
    ...['', 'x', '\uFE0F', '\uD800', 'user', 'assistant', 'text', 'auto', 'float', 'base64', '1'],
  ),
  fc.constantFrom<unknown[]>(
    [],
    [''],
    ['x'],
    [0],
    [-1],
    [1.5],
    [[1]],
    [[]],
    [null],
    ['a', 'b', 'c', 'd', 'e'],
  ),
  fc.constantFrom<unknown>({}, { type: 'text' }, { type: 1 }, [{ type: 'text' }], [{}], [{ role: 'user' }]),
  fc.string({ maxLength: 4 }),
  fc.integer(),
  fc.double(),
  json,
);

type Mutation =
  | { op: 'replace' | 'add'; steps: number[]; pick: number; key: string; value: unknown }
  | { op: 'nudge' | 'delete' | 'duplicate' | 'wrap'; steps: number[]; pick: number };
/** The path to the mutated container: often the body itself. */
const steps: fc.Arbitrary<number[]> = fc.oneof(
  fc.constant<number[]>([]),
  fc.array(fc.nat(), { maxLength: 3 }),
);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    op: fc.constantFrom('replace' as const, 'add' as const),
    steps,
    pick: fc.nat(),
    key,
    value: wrong,
  }),
  fc.record({ op: fc.constant('nudge' as const), steps, pick: fc.nat() }),
  fc.record({
    op: fc.constantFrom('delete' as const, 'duplicate' as const, 'wrap' as const),
    steps,
    pick: fc.nat(),
  }),
);

/** A value just off the given one: a number past a bound or off the integers, an empty string, another type. */
function nudged(value: unknown, pick: number): unknown {
  const choose = <T>(options: T[]): T => options[pick % options.length]!;
  if (typeof value === 'number') return value + choose([0.5, 1, -0.5, -1]);
  if (typeof value === 'string') return choose(['', `${value}x`, 1]);
  if (typeof value === 'boolean') return choose([String(value), Number(value)]);
  if (value === null) return choose([{}, [], '', 0, false]);
  if (Array.isArray(value)) return choose([[], {}, value[0]]);
  if (typeof value === 'object') return choose([[], Object.values(value)[0]]);
  return choose([null, '', 0]);
}

/** An own property, as JSON.parse makes it (even for `__proto__`). */
function put(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}

/** Applies the mutation to some container in the body, reached by following `steps` down its children. */
function mutate(body: Body, m: Mutation): void {
  let node: object = body;
  for (const step of m.steps) {
    const children = Object.values(node).filter((v): v is object => typeof v === 'object' && v !== null);
    if (children.length === 0) break;
    node = children[step % children.length]!;
  }
  const keys = Object.keys(node);
  const chosen = keys.length ? keys[m.pick % keys.length]! : undefined;
  const record = node as Record<string, unknown>;
  switch (m.op) {
    case 'add': // a copy: fast-check hands out the same constant objects to many runs
      if (Array.isArray(node)) node.push(structuredClone(m.value));
      else put(node, m.key, structuredClone(m.value));
      return;
    case 'replace':
      if (chosen !== undefined) record[chosen] = structuredClone(m.value);
      return;
    case 'nudge':
      if (chosen !== undefined)
        record[chosen] = structuredClone(nudged(record[chosen], Math.floor(m.pick / 97)));
      return;
    case 'delete':
      if (chosen === undefined) return;
      if (Array.isArray(node)) node.splice(Number(chosen), 1);
      else delete record[chosen];
      return;
    case 'duplicate': // one more item: past an array's maximum
      if (Array.isArray(node) && chosen !== undefined) node.push(structuredClone(node[Number(chosen)]));
      return;
    case 'wrap':
      if (chosen !== undefined) record[chosen] = [record[chosen]];
      return;
  }
}

const nearlyValid = (valid: fc.Arbitrary<Body>) =>
  fc
    .tuple(valid, fc.oneof(fc.tuple(mutation), fc.array(mutation, { minLength: 2, maxLength: 3 })))
    .map(([body, mutations]) => {
      const copy = structuredClone(body);
      for (const m of mutations) mutate(copy, m);
      return copy;
    });

// ---- One field off: every position of a valid body, every edge value --------------------------------

const EDGE_NUMBERS = [-3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 19, 20, 21, 127, 128, 129, 2048, 2 ** 32]
  .flatMap((k) => [k, -k, k - 1e-9, k + 1e-9, k + 0.5])
  .concat(NaN, Infinity, -Infinity, 1e308, -1e308, 2 ** 53 + 2);
const EDGE_VALUES: unknown[] = [
  ...EDGE_NUMBERS,
  ...[
    null,
    undefined,
    true,
    false,
    'true',
    '1',
    '',
    'x',
    ' ',
    '\uFE0F',
    '\uD800',
    'bot',
    'float',
    'base64',
    'int8',
  ],
  ...['system', 'developer', 'user', 'assistant', 'tool', 'function', 'text', 'auto'],
  ...[[], [''], ['x'], ['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd', 'e'], [1, 'x'], ['x', 1]],
  ...[[0], [-1], [1.5], [2 ** 32], [[1]], [[]], [[-1]], [[1], 2], [null], [{}], [[{}]]],
  ...[[{ type: 'text' }], [{ type: 1 }], [{ role: 'user' }], [{ role: 'user', content: 1 }]],
  ...[{}, { type: 'text' }, { type: 1 }, { include_usage: 'yes' }, { role: 'user' }],
];

/** Every [container, key] of the value, the value itself excluded. */
function positions(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([name, child]) => {
    const here = [...path, Array.isArray(value) ? Number(name) : name];
    return [here, ...positions(child, here)];
  });
}

/** A copy of the body with the value at `path` replaced (or, for `remove`, deleted). */
function withValue(body: Body, path: (string | number)[], value: unknown, remove = false): Body {
  const copy = structuredClone(body);
  let node = copy as Record<string | number, unknown>;
  for (const step of path.slice(0, -1)) node = node[step] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (remove) delete node[last];
  else node[last] = structuredClone(value);
  return copy;
}

// ---- The two paths -----------------------------------------------------------------------------------

type Outcome = { value: unknown } | { error: unknown };

function outcome(pipe: BodyValidationPipe<object>, input: unknown): Outcome {
  try {
    return { value: pipe.transform(input) };
  } catch (error) {
    return { error };
  }
}

/** What a client (or the exception filter) can see of an outcome. */
function visible(result: Outcome): unknown {
  if ('value' in result) return { value: result.value };
  const { error } = result;
  if (error instanceof ApiError) {
    const { status, code, params, param, headers } = error;
    return { apiError: { status, code, params, param, headers, body: error.toBody() } };
  }
  return { thrown: (error as Error).constructor.name, message: (error as Error).message };
}

function sameValue(a: Outcome, b: Outcome): boolean {
  return 'value' in a && 'value' in b ? a.value === b.value : !('value' in a) && !('value' in b);
}

/** A copy of a JSON value with every `constructor` and `__proto__` key renamed (class-transformer mishandles them). */
function renameReservedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(renameReservedKeys);
  if (typeof value !== 'object' || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value))
    copy[key === 'constructor' || key === '__proto__' ? `(${key})` : key] = renameReservedKeys(child);
  return copy;
}

/**
 * class-validator's verdict on a body made into a DTO by class-transformer, the reference the pipe's own
 * linear instantiation (core/dto-instance.ts) and the schemas are held to.
 */
function classValidatorAccepts(dto: Ctor, body: unknown): boolean {
  return validateSync(plainToInstance<object, unknown>(dto, renameReservedKeys(body))).length === 0;
}

interface Case {
  dto: Ctor;
  schema: SchemaObject;
  valid: fc.Arbitrary<Body>;
  typical: Body[];
  /** Bodies with every checked field set, to be put one field off (the typical ones if absent). */
  full?: Body[];
}

const chatTypical: Body[] = [
  {
    model: 'm',
    messages: [{ role: 'user', content: 'Say hello in one short sentence.' }],
    max_tokens: 64,
  },
  {
    model: 'Qwen/Qwen3.6-35B-A3B-FP8',
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Hi' },
    ],
    stream: true,
    stream_options: { include_usage: true },
    temperature: 0.7,
    top_p: 1,
    n: 1,
    max_completion_tokens: 256,
    seed: 42,
    user: 'u-1',
    stop: ['\n\n'],
    presence_penalty: 0,
    frequency_penalty: 0.5,
    logit_bias: { '50256': -100 },
    logprobs: true,
    top_logprobs: 5,
    // Fields the gateway does not check pass through.
    metadata: { team: 'a' },
    store: false,
    reasoning_effort: 'low',
    modalities: ['text'],
  },
  {
    model: 'm',
    messages: [
      { role: 'developer', content: 'Use the tools.', name: 'ops' },
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
    ],
    tools: [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Current weather',
          parameters: {
            type: 'object',
            properties: { city: { type: 'string' } },
            required: ['city'],
            additionalProperties: false,
          },
          strict: true,
        },
      },
    ],
    tool_choice: 'auto',
    parallel_tool_calls: false,
  },
  {
    model: 'm',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in this image?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AA==', detail: 'auto' } },
        ],
      },
    ],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    response_format: {
      type: 'json_schema',
      json_schema: {
        name: 'answer',
        strict: true,
        schema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] },
      },
    },
  },
  { model: 'auto', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_object' } },
  { model: 'm', messages: [{ role: 'assistant' }], stop: 'END', stream: false, stream_options: null },
];

/** Every field the DTO checks, set. */
const chatFull: Body = {
  model: 'm',
  messages: [
    { role: 'user', content: 'x', name: 'n', tool_calls: [], tool_call_id: 'c' },
    { role: 'user', content: [{ type: 'text', text: 'x' }] },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function' }] },
  ],
  stream: true,
  stream_options: { include_usage: true, continuous_usage_stats: false },
  temperature: 1,
  top_p: 0.5,
  n: 2,
  max_tokens: 1,
  max_completion_tokens: 1,
  stop: ['a', 'b', 'c'],
  presence_penalty: 1,
  frequency_penalty: -1,
  logit_bias: { '1': 1 },
  logprobs: true,
  top_logprobs: 20,
  seed: 1,
  user: 'u',
  tools: [{ type: 'function', function: { name: 'f' } }],
  tool_choice: 'auto',
  parallel_tool_calls: true,
  response_format: { type: 'text' },
};

const cases: Record<string, Case> = {
  ChatCompletionDto: {
    dto: ChatCompletionDto,
    schema: chatCompletionSchema,
    valid: validChat,
    typical: [chatFull, ...chatTypical],
    full: [chatFull],
  },
  CompletionDto: {
    dto: CompletionDto,
    schema: completionSchema,
    valid: validCompletion,
    typical: [
      { model: 'm', prompt: 'Say this is a test', max_tokens: 7, temperature: 0 },
      { model: 'm', prompt: ['a', 'b'], stream: true, stream_options: { include_usage: true }, echo: true },
      { model: 'm', prompt: [1, 2, 3], logprobs: 5, best_of: 2, n: 2, suffix: '', stop: ['\n'] },
      { model: 'm', prompt: [[1, 2], [3]], seed: 1, user: 'u', logit_bias: { '1': 5 }, top_p: 0.9 },
      {
        ...{ model: 'm', prompt: 'p', stream: true, stream_options: { include_usage: true }, max_tokens: 1 },
        ...{ temperature: 1, top_p: 1, n: 1, best_of: 128, stop: 's', echo: false, logprobs: 0, suffix: 's' },
        ...{ presence_penalty: 2, frequency_penalty: -2, logit_bias: {}, seed: -1, user: 'u' },
      },
    ],
  },
  CreateEmbeddingDto: {
    dto: CreateEmbeddingDto,
    schema: createEmbeddingSchema,
    valid: validEmbedding,
    typical: [
      { model: 'e5', input: 'The food was delicious.' },
      { model: 'e5', input: ['a', 'b'], encoding_format: 'base64' },
      { model: 'e5', input: [1, 2, 3], encoding_format: 'float', dimensions: 256, user: 'u' },
      { model: 'e5', input: [[1, 2], [3]] },
      { model: 'e5', input: { any: 'value' }, encoding_format: 'float', dimensions: 1, user: '' },
    ],
  },
};

describe.each(Object.entries(cases))('the %s schema', (_name, { dto, schema, valid, typical, full }) => {
  const accepts = compileBodySchema(schema);
  const fast = new BodyValidationPipe(dto, { schema });
  const slow = new BodyValidationPipe(dto);

  /** The pipe's answer, and whether it came from the schema alone. */
  function viaSchema(body: unknown): { result: Outcome; fastPath: boolean } {
    const before = fast.acceptedBySchema;
    const result = outcome(fast, body);
    return { result, fastPath: fast.acceptedBySchema > before };
  }

  it('accepts nothing class-validator refuses, and the pipe answers as class-validator alone (2,000 runs)', () => {
    fc.assert(
      fc.property(fc.oneof(nearlyValid(valid), valid), (body) => {
        if (accepts(body)) expect(classValidatorAccepts(dto, body)).toBe(true);
        const { result, fastPath } = viaSchema(body);
        if (fastPath) expect(classValidatorAccepts(dto, body)).toBe(true);
        const slowResult = outcome(slow, body);
        expect('value' in slowResult).toBe(classValidatorAccepts(dto, body));
        expect(visible(result)).toEqual(visible(slowResult));
        if ('value' in result) expect(result.value).toBe(body);
      }),
      { numRuns: 2000 },
    );
  });

  it('passes valid bodies on without class-validator (500 runs)', () => {
    fc.assert(
      fc.property(valid, (body) => {
        const { result, fastPath } = viaSchema(body);
        expect(result).toEqual({ value: body });
        expect(fastPath).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('answers as class-validator alone for every field of a valid body set to an edge value', () => {
    let checked = 0;
    for (const base of full ?? typical) {
      for (const path of positions(base)) {
        const variants = [
          ...EDGE_VALUES.map((edge) => withValue(base, path, edge)),
          withValue(base, path, 0, true),
        ];
        for (const body of variants) {
          const { result, fastPath } = viaSchema(body);
          if (fastPath && !classValidatorAccepts(dto, body)) expect(body).toBe('refused by class-validator');
          const expected = outcome(slow, body);
          // (compared as strings first: expect() on every one of these thousands of bodies is slow)
          if (
            JSON.stringify(visible(result)) !== JSON.stringify(visible(expected)) ||
            !sameValue(result, expected)
          )
            expect(visible(result)).toEqual(visible(expected));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it.each(typical.map((body) => [JSON.stringify(body).slice(0, 70), body] as const))(
    'passes on a typical body without class-validator: %s',
    (_text, body) => {
      const wire = JSON.parse(JSON.stringify(body)) as Body;
      const { result, fastPath } = viaSchema(wire);
      expect(result).toEqual({ value: wire });
      expect(fastPath).toBe(true);
    },
  );
});

describe('schema boundaries', () => {
  const chat = new BodyValidationPipe(ChatCompletionDto, { schema: chatCompletionSchema });
  const chatSlow = new BodyValidationPipe(ChatCompletionDto);
  const completion = new BodyValidationPipe(CompletionDto, { schema: completionSchema });
  const completionSlow = new BodyValidationPipe(CompletionDto);
  const msg = { role: 'user', content: 'x' };

  function same(fast: BodyValidationPipe<object>, slow: BodyValidationPipe<object>, body: Body): boolean {
    const before = fast.acceptedBySchema;
    expect(visible(outcome(fast, body))).toEqual(visible(outcome(slow, body)));
    return fast.acceptedBySchema > before;
  }

  it('follows the size limits to the item', () => {
    expect(same(chat, chatSlow, { model: 'm', messages: Array(MAX_MESSAGES).fill(msg) })).toBe(true);
    expect(same(chat, chatSlow, { model: 'm', messages: Array(MAX_MESSAGES + 1).fill(msg) })).toBe(false);
    expect(same(chat, chatSlow, { model: 'm', messages: [msg], stop: ['a', 'b', 'c', 'd'] })).toBe(true);
    expect(same(chat, chatSlow, { model: 'm', messages: [msg], stop: ['a', 'b', 'c', 'd', 'e'] })).toBe(
      false,
    );
    expect(same(completion, completionSlow, { model: 'm', prompt: Array(2048).fill('p') })).toBe(true);
    expect(same(completion, completionSlow, { model: 'm', prompt: Array(2049).fill('p') })).toBe(false);
    expect(same(completion, completionSlow, { model: 'm', prompt: Array(2048).fill([1]) })).toBe(true);
    expect(same(completion, completionSlow, { model: 'm', prompt: Array(2049).fill([1]) })).toBe(false);
  });

  it('accepts a `constructor` key where any key may be (a tool parameter so named), on both paths', () => {
    // class-transformer took such a key's value for the class of an untyped object and threw: a 500.
    const tool = {
      type: 'function',
      function: { name: 'f', parameters: { properties: { constructor: {} } } },
    };
    for (const tools of [[{ constructor: 1 }], [tool]]) {
      const body = { model: 'm', messages: [msg], tools };
      expect(outcome(chat, body)).toEqual({ value: body });
      expect(outcome(chatSlow, body)).toEqual({ value: body });
    }
    const refused = outcome(chatSlow, { model: 'm', messages: [msg], tools: [1], constructor: 1 });
    expect(visible(refused)).toMatchObject({ apiError: { status: 400, param: 'tools' } });
  });

  it('treats an own `__proto__` key as an unknown field on both paths, never as a prototype', () => {
    // Found by the 2,000-run property (seed 1648604013): class-transformer made `[]` the prototype of
    // tool_choice and refused a body the schema accepted. (Fastify's JSON parser refuses such keys
    // before the pipe; the pipe must not depend on that.)
    const toolChoice = JSON.parse('{"type":"function","function":{"name":"m"},"__proto__":[]}') as object;
    expect(Object.hasOwn(toolChoice, '__proto__')).toBe(true);
    const body = { model: 'm', messages: [msg], tool_choice: toolChoice };
    expect(outcome(chat, body)).toEqual({ value: body });
    expect(outcome(chatSlow, body)).toEqual({ value: body });
    const nested = JSON.parse('{"model":"m","messages":[{"role":"user","content":"x"}],"__proto__":{"n":1}}');
    expect(outcome(chatSlow, nested)).toEqual({ value: nested });
  });
});
