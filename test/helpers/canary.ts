// The search half of the metadata-only canary test: every form a secret or a request's text could take when
// it leaks (as written, upper/lower case, base64, hex), and every file under a directory, searched as bytes.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The base64 text of `value` wherever it sits in a larger encoded buffer: for each of the three alignments,
 * the characters that depend on `value`'s bytes alone (its first and last partial groups are dropped).
 */
function base64Forms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  return [0, 1, 2].map((prefix) => {
    const encoded = Buffer.concat([Buffer.alloc(prefix), bytes]).toString('base64');
    const fullGroups = Math.floor((prefix + bytes.length) / 3);
    return encoded.slice(prefix === 0 ? 0 : 4, fullGroups * 4);
  });
}

/** The byte patterns one string leaks as: itself, upper and lower case, base64 (any alignment) and hex. */
export function leakForms(value: string): Buffer[] {
  const forms = new Set([
    value,
    value.toUpperCase(),
    value.toLowerCase(),
    ...base64Forms(value),
    Buffer.from(value).toString('hex'),
  ]);
  return [...forms].map((form) => Buffer.from(form, 'utf8'));
}

/** Every regular file under `dir` (recursively), with its path relative to `dir`; bounded in count. */
export function filesUnder(dir: string, limit = 20_000): { path: string; bytes: Buffer }[] {
  const found: { path: string; bytes: Buffer }[] = [];
  const walk = (current: string) => {
    for (const name of readdirSync(current)) {
      if (found.length >= limit) throw new Error(`more than ${limit} files under ${dir}`);
      const path = join(current, name);
      const stat = statSync(path, { throwIfNoEntry: false });
      if (stat?.isDirectory()) walk(path);
      else if (stat?.isFile()) found.push({ path: relative(dir, path), bytes: readFileSync(path) });
    }
  };
  walk(dir);
  return found;
}

/**
 * Where any of `secrets` (by label) shows up in any of `haystacks` (by name), in any of its leak forms:
 * e.g. `["canary in stdout", "upstream key vllm in pg_dump"]`. Empty means nothing leaked.
 */
export function findLeaks(
  secrets: Record<string, string>,
  haystacks: Record<string, Buffer | string>,
): string[] {
  const leaks: string[] = [];
  for (const [where, hay] of Object.entries(haystacks)) {
    const bytes = typeof hay === 'string' ? Buffer.from(hay, 'utf8') : hay;
    for (const [what, secret] of Object.entries(secrets)) {
      const form = leakForms(secret).find((f) => bytes.includes(f));
      if (form) leaks.push(`${what} in ${where} (as "${form.toString('utf8')}")`);
    }
  }
  return leaks;
}
