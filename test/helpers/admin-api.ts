// Plain-fetch access to /admin/v1 for e2e tests (the openai SDK has no admin API), plus the checks the key
// tests share: the OpenAI error shape and "does this key still authenticate".
import OpenAI from 'openai';
import { waitFor } from './test-app';

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
