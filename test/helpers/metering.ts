// Reads the metadata records (one JSON line per finished request) from a test app's in-memory log.
import type { TestApp } from './test-app';

export function requestRecords(hunze: TestApp): Record<string, unknown>[] {
  return hunze.logLines
    .filter((l) => l.includes('"evt":"request"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A metadata record for `endpoint` logged after `recordsBefore` matches `expected` (waits up to 2 s). */
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
  while (ours().length === 0 && Date.now() - start < 2000) await new Promise((r) => setTimeout(r, 10));
  expect(ours().at(-1)).toMatchObject(expected);
}
