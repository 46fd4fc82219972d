// Loads config/hunze.yaml: parse, apply env overrides, fingerprint, validate, resolve `env:NAME` secrets.
// Returns every problem at once (one line each, with its key path) so `hunze config check` can list them.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { parseDocument } from 'yaml';
import { HunzeConfigFile } from './config.schema';
import { HunzeConfig } from './hunze-config';
import { checkConsistency } from './config.consistency';
import { readUpstreamCas } from './upstream-tls';

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

const ENV_REF = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;
/** Secret-bearing keys: their values are replaced by the reference name in the fingerprint and /admin/v1/config. */
export const SECRET_PATHS = ['auth.adminKey', 'upstreams[].apiKey', 'redis.url'] as const;

export function defaultConfigPath(env: Env): string {
  return resolve(env.HUNZE_CONFIG ?? 'config/hunze.yaml');
}

export function loadConfig(env: Env = process.env): HunzeConfig {
  const sourcePath = defaultConfigPath(env);
  let text: string;
  try {
    text = readFileSync(sourcePath, 'utf8');
  } catch (err) {
    throw new ConfigError([`${sourcePath}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  return parseConfig(text, env, sourcePath);
}

export function parseConfig(text: string, env: Env, sourcePath = '<inline>'): HunzeConfig {
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => `${sourcePath}: YAML ${e.code} at line ${e.linePos?.[0]?.line ?? '?'}`),
    );
  }
  const raw: unknown = doc.toJS();
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError([`${sourcePath}: the document must be a mapping`]);
  }
  const withOverrides = applyEnvOverrides(raw as Record<string, unknown>, env);
  const fingerprint = fingerprintOf(withOverrides);

  const file = plainToInstance(HunzeConfigFile, withOverrides, { exposeDefaultValues: true });
  const problems = validateSync(file, { whitelist: true, forbidNonWhitelisted: true }).flatMap((e) =>
    flattenErrors(e, ''),
  );
  const wellFormed = problems.length === 0;
  if (problems.length === 0) problems.push(...resolveSecrets(file, env), ...checkConsistency(file));
  // The CA files of https upstreams, read now; relative paths are taken from the config file's directory.
  const tls = wellFormed
    ? readUpstreamCas(file, sourcePath === '<inline>' ? process.cwd() : dirname(sourcePath))
    : { cas: new Map<string, string>(), problems: [] };
  problems.push(...tls.problems);
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    file,
    fingerprint,
    sourcePath,
    upstreamCas: tls.cas,
    redactedDocument: redactSecrets(withOverrides),
    databaseUrl: nonEmpty(env.DATABASE_URL),
    dataDir: resolve(nonEmpty(env.HUNZE_DATA_DIR) ?? 'data'),
    redisUrl: file.redis.url ?? undefined,
    logLevel: nonEmpty(env.HUNZE_LOG_LEVEL) ?? 'info',
  };
}

function applyEnvOverrides(raw: Record<string, unknown>, env: Env): Record<string, unknown> {
  const copy = structuredClone(raw);
  const section = (name: string): Record<string, unknown> => {
    const current = copy[name];
    if (typeof current === 'object' && current !== null) return current as Record<string, unknown>;
    return (copy[name] = {});
  };
  if (nonEmpty(env.PORT)) section('server').port = Number(env.PORT);
  if (nonEmpty(env.HOST)) section('server').host = env.HOST;
  if (nonEmpty(env.REDIS_URL)) section('redis').url = env.REDIS_URL;
  return copy;
}

/** Replaces `env:NAME` references in secret fields with the variable's value. */
function resolveSecrets(file: HunzeConfigFile, env: Env): string[] {
  const problems: string[] = [];
  const resolveRef = (value: string | null | undefined, path: string, required: boolean) => {
    const match = value ? ENV_REF.exec(value) : null;
    if (!match) return value ?? undefined;
    const resolved = nonEmpty(env[match[1]!]);
    if (!resolved && required) problems.push(`${path}: environment variable ${match[1]} is not set`);
    return resolved;
  };
  // The break-glass key is optional: unset means there is none.
  file.auth.adminKey = resolveRef(file.auth.adminKey, 'auth.adminKey', false);
  file.upstreams.forEach((u, i) => (u.apiKey = resolveRef(u.apiKey, `upstreams[${i}].apiKey`, true)));
  file.redis.url = resolveRef(file.redis.url, 'redis.url', true) ?? null;
  return problems;
}

/** Canonical JSON (sorted keys) of the config as written, secrets as their reference names. */
export function fingerprintOf(raw: unknown): string {
  return createHash('sha256')
    .update(canonicalJson(redactSecrets(raw)))
    .digest('hex');
}

/** A copy of the raw config with every literal secret replaced; `env:NAME` references are kept. */
export function redactSecrets(raw: unknown): unknown {
  const copy = structuredClone(raw) as {
    auth?: { adminKey?: unknown };
    upstreams?: { apiKey?: unknown }[];
    redis?: { url?: unknown };
  };
  const redact = (v: unknown) => (typeof v === 'string' && !ENV_REF.test(v) ? '<redacted>' : v);
  if (copy.auth?.adminKey) copy.auth.adminKey = redact(copy.auth.adminKey);
  if (copy.redis?.url) copy.redis.url = redact(copy.redis.url);
  if (Array.isArray(copy.upstreams))
    copy.upstreams.forEach((u) => u?.apiKey && (u.apiKey = redact(u.apiKey)));
  return copy;
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

function flattenErrors(error: ValidationError, parent: string): string[] {
  const path = /^\d+$/.test(error.property)
    ? `${parent}[${error.property}]`
    : parent
      ? `${parent}.${error.property}`
      : error.property;
  const own = Object.values(error.constraints ?? {}).map(
    (message) => `${path}: ${stripPropertyName(message, error.property)}`,
  );
  return [...own, ...(error.children ?? []).flatMap((child) => flattenErrors(child, path))];
}

/** class-validator messages start with the property name; the path already says it. */
function stripPropertyName(message: string, property: string): string {
  return message.startsWith(`${property} `) ? message.slice(property.length + 1) : message;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
