// Plain-fetch access to /admin/v1 for e2e tests (the openai SDK has no admin API), plus the checks the key
// tests share: the OpenAI error shape and "does this key still authenticate".
import OpenAI from 'openai';
import { ADMIN_KEY, waitFor, type TestApp } from './test-app';

export interface AdminResponse {
  status: number;
  body: any; // JSON of whichever shape the route returns
  text: string;
}

/** Calls `/admin/v1<path>` on a running Hunze with `Authorization: Bearer <key>` (or the raw header given). */
export async function adminCall(
  baseUrl: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  auth: { key: string } | { header: string | undefined },
  body?: unknown,
): Promise<AdminResponse> {
  const headers: Record<string, string> = {};
  const authorization = 'key' in auth ? `Bearer ${auth.key}` : auth.header;
  if (authorization !== undefined) headers.authorization = authorization;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}/admin/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, text };
}

/** The body is exactly OpenAI's `{"error":{message,type,param,code}}` with the given code. */
export function expectOpenAiError(body: unknown, code: string, param: string | null = null): void {
  expect(body).toEqual({
    error: { message: expect.any(String), type: expect.any(String), param, code },
  });
}

/** The status a cheap authenticated call (GET /v1/models through the openai SDK) gets with this key. */
export async function statusWithKey(baseURL: string, key: string): Promise<number> {
  // A deadline only against a hang: a loaded machine can take seconds to answer.
  const client = new OpenAI({ apiKey: key, baseURL, maxRetries: 0, timeout: 30_000 });
  try {
    await client.models.list();
    return 200;
  } catch (err) {
    if (err instanceof OpenAI.APIError && err.status !== undefined) return err.status;
    throw err;
  }
}

/**
 * Asks `probe` until `reached` holds for its answer, 30 s at most; each poll with when it was sent, in ms after
 * `since` (the event that starts the clock). A promise such as "refused within 1 s" is broken by a poll sent 1 s
 * or later after `since` whose answer had not reached the new state, however slowly this machine runs; an
 * earlier poll answered late (by a busy machine) says nothing against it: see `lateMisses`.
 */
export async function pollUntil<T>(
  probe: () => Promise<T>,
  reached: (answer: T) => boolean,
  since: number,
  stepMs = 10,
): Promise<Poll<T>[]> {
  const polls: Poll<T>[] = [];
  await waitFor(
    async () => {
      const sentAfterMs = Date.now() - since;
      const answer = await probe();
      polls.push({ sentAfterMs, answer, reached: reached(answer) });
      return polls.at(-1)!.reached;
    },
    30_000,
    stepMs,
  );
  return polls;
}

export interface Poll<T> {
  sentAfterMs: number;
  answer: T;
  reached: boolean;
}

/** The polls sent `withinMs` or later after the event that had still not seen it (empty: the promise held). */
export function lateMisses<T>(polls: Poll<T>[], withinMs: number): Poll<T>[] {
  return polls.filter((poll) => poll.sentAfterMs >= withinMs && !poll.reached);
}

/** pollUntil for a key's HTTP status: until it is refused (401). */
export function pollUntilRefused(
  status: () => Promise<number>,
  since: number,
  stepMs = 10,
): Promise<Poll<number>[]> {
  return pollUntil(status, (answer) => answer === 401, since, stepMs);
}

/** A key made on `on` with the admin key. */
export async function createKeyOn(
  on: TestApp,
  name: string,
  account?: string,
): Promise<{ id: string; key: string }> {
  const res = await adminCall(on.url, 'POST', '/keys', { key: ADMIN_KEY }, { name, account });
  expect(res.status).toBe(201);
  return { id: res.body.id as string, key: res.body.key as string };
}

export async function revokeKeyOn(on: TestApp, id: string): Promise<void> {
  const res = await adminCall(on.url, 'DELETE', `/keys/${id}`, { key: ADMIN_KEY });
  expect(res.status).toBe(200);
}

/**
 * Two keys made on replica `a` and used on `b` (so `b` has them cached: only a key-change feed can tell it
 * of a revocation); one is revoked on `a`, and `b` is polled until it refuses it. The clock starts when the
 * revocation is done (`a` has answered the DELETE), not before the admin call.
 */
export async function revokeOnOneReplica(a: TestApp, b: TestApp, account?: string) {
  const revoked = await createKeyOn(a, 'to-revoke', account);
  const kept = await createKeyOn(a, 'kept', account);
  expect(await statusWithKey(b.baseURL, revoked.key)).toBe(200);
  expect(await statusWithKey(b.baseURL, revoked.key)).toBe(200);
  await revokeKeyOn(a, revoked.id);
  const polls = await pollUntilRefused(() => statusWithKey(b.baseURL, revoked.key), Date.now());
  return { revoked, kept, polls };
}
