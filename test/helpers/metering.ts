// Reads the metadata records (one JSON line per finished request) from a test app's in-memory log.
import type { TestApp } from './test-app';

/** A record is logged as the response ends; a loaded machine may still take a while to get there. */
const RECORD_WAIT_MS = 30_000;

export function requestRecords(hunze: TestApp): Record<string, unknown>[] {
  return hunze.logLines
    .filter((l) => l.includes('"evt":"request"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A metadata record for `endpoint` logged after `recordsBefore` matches `expected` (waits up to 30 s). */
export async function expectMetered(
  hunze: TestApp,
  recordsBefore: number,
  endpoint: string,
  expected: Record<string, unknown>,
): Promise<void> {
  const ours = () =>
    requestRecords(hunze)
      .slice(recordsBefore)
      .filter((r) => r.endpoint === endpoint);
  const start = Date.now();
  while (ours().length === 0 && Date.now() - start < RECORD_WAIT_MS)
    await new Promise((r) => setTimeout(r, 10));
  expect(ours().at(-1)).toMatchObject(expected);
}
