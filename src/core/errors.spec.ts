// The error catalogue: each entry renders to OpenAI's error shape with every placeholder filled, steers SDK
// retries as intended, and every place that raises it supplies the values its message needs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { ApiError, ERRORS, type ErrorCode } from './errors';

const CODES = Object.keys(ERRORS) as ErrorCode[];
const placeholders = (code: ErrorCode) => [...ERRORS[code].message.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);

/** The values a template may take: our own field names and numbers (see ErrorParams). */
const SAMPLE_VALUES: Record<string, string | number> = {
  param: 'messages[0].role',
  reason: 'is required',
  max: 1000,
  kind: 'embedding',
  needed: 'chat',
  limitMb: 25,
  retryAfter: 7,
  upstreamStatus: 500,
  timeoutMs: 30000,
  limitBytes: 16384,
  accepted: 'from, to',
};

/** Codes the OpenAI SDKs should retry on their own: transient capacity and backend faults. */
const RETRIED: readonly ErrorCode[] = [
  'rate_limit_exceeded',
  'upstream_error',
  'upstream_connection_failed',
  'upstream_unavailable',
  'upstream_overloaded',
  'upstream_timeout',
  'internal_error',
  'key_verification_unavailable',
  'image_store_unavailable',
];

describe('error catalogue', () => {
  it.each(CODES)('%s renders a complete OpenAI error body', (code) => {
    const names = placeholders(code);
    for (const name of names) expect(SAMPLE_VALUES).toHaveProperty(name);
    const params = Object.fromEntries(names.map((n) => [n, SAMPLE_VALUES[n]!]));
    const body = new ApiError(code, params, 'model').toBody();
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error).toEqual({
      message: expect.any(String),
      type: ERRORS[code].type,
      param: 'model',
      code,
    });
    expect(body.error.message).not.toMatch(/[{}]/);
    for (const name of names) expect(body.error.message).toContain(String(SAMPLE_VALUES[name]));
    expect(body.error.message).toMatch(/^[A-Z].*\.$/);
  });

  it.each(CODES)('%s sends x-should-retry as its retry policy says', (code) => {
    const error = new ApiError(code);
    expect(error.status).toBe(ERRORS[code].status);
    expect(error.responseHeaders()['x-should-retry']).toBe(String(RETRIED.includes(code)));
    expect(ERRORS[code].retry).toBe(RETRIED.includes(code));
  });

  it('uses the status codes the contract names', () => {
    const statusOf = (code: ErrorCode) => ERRORS[code].status;
    expect(statusOf('invalid_api_key')).toBe(401);
    expect(statusOf('model_not_allowed')).toBe(403);
    expect(statusOf('model_not_found')).toBe(404);
    expect(statusOf('request_too_large')).toBe(413);
    expect(statusOf('rate_limit_exceeded')).toBe(429);
    expect(statusOf('quota_exceeded')).toBe(429);
    expect(statusOf('residency_violation')).toBe(503);
    for (const code of CODES) {
      const status = statusOf(code);
      expect(status >= 400 && status < 600).toBe(true);
      if (status < 500) expect(ERRORS[code].type).not.toBe('server_error');
    }
  });

  it('keeps extra headers (retry-after) beside x-should-retry, and param null by default', () => {
    const error = new ApiError('upstream_overloaded', {}, null, { 'retry-after': '1' });
    expect(error.responseHeaders()).toEqual({ 'x-should-retry': 'true', 'retry-after': '1' });
    expect(new ApiError('invalid_json').toBody().error.param).toBeNull();
  });

  it('is raised everywhere with the values its message needs', () => {
    const missing = raisedWithoutParams('src').filter(({ code, given }) =>
      placeholders(code).some((name) => given !== null && !given.includes(name)),
    );
    expect(missing.map(({ where, code }) => `${where}: ${code}`)).toEqual([]);
  });
});

interface RaiseSite {
  where: string;
  code: ErrorCode;
  /** Keys of the params object literal; null when it is not a literal (not checked). */
  given: string[] | null;
}

/**
 * Every `new ApiError('code', {...})` in the sources, and every DTO constraint context
 * `{ errorCode: 'code', params: {...} }`, with the keys it passes.
 */
function raisedWithoutParams(dir: string): RaiseSite[] {
  const sites: RaiseSite[] = [];
  for (const file of sourceFiles(dir)) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const where = (node: ts.Node) =>
      `${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
    const visit = (node: ts.Node): void => {
      if (ts.isNewExpression(node) && node.expression.getText() === 'ApiError') {
        const [code, params] = node.arguments ?? [];
        if (code && ts.isStringLiteral(code))
          sites.push({ where: where(node), code: code.text as ErrorCode, given: keysOf(params) });
      }
      if (ts.isObjectLiteralExpression(node)) {
        const code = propertyNamed(node, 'errorCode');
        const given = keysOf(propertyNamed(node, 'params'));
        // The validation pipe adds the failing field's path as `param` to a constraint context's params.
        if (code && ts.isStringLiteral(code))
          sites.push({
            where: where(node),
            code: code.text as ErrorCode,
            given: given && [...given, 'param'],
          });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  expect(sites.length).toBeGreaterThan(20); // the scan found the raise sites
  return sites;
}

function keysOf(node: ts.Node | undefined): string[] | null {
  if (node === undefined) return [];
  if (!ts.isObjectLiteralExpression(node)) return null;
  if (node.properties.some(ts.isSpreadAssignment)) return null;
  return node.properties.map((p) => p.name?.getText() ?? '');
}

function propertyNamed(node: ts.ObjectLiteralExpression, name: string): ts.Expression | undefined {
  for (const p of node.properties)
    if (ts.isPropertyAssignment(p) && p.name.getText() === name) return p.initializer;
  return undefined;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}
