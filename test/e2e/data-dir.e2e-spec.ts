// HUNZE_DATA_DIR (the embedded database and the usage spool) is readable by Hunze's own user only: made 0700
// with files 0600, and an existing directory that others can read is tightened at start, with a warning.
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeVllm } from '../fakes/fake-vllm';
import { startTestApp, usingPostgres, type TestApp } from '../helpers/test-app';

const MODEL = 'Qwen/Qwen3.6-35B-A3B-FP8';

/** Every entry under `root` (itself included) that group or others may use, with its mode. */
function openToOthers(root: string): string[] {
  const found: string[] = [];
  const pending = [root];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    const stat = lstatSync(path);
    if (stat.isDirectory()) pending.push(...readdirSync(path).map((name) => join(path, name)));
    if ((stat.mode & 0o077) !== 0) found.push(`${path} ${(stat.mode & 0o777).toString(8)}`);
  }
  return found;
}

function countEntries(root: string): number {
  const stat = lstatSync(root);
  if (!stat.isDirectory()) return 1;
  return 1 + readdirSync(root).reduce((n, name) => n + countEntries(join(root, name)), 0);
}

describe('the data directory', () => {
  let upstream: FakeVllm;
  let parent: string;
  let hunze: TestApp | undefined;

  beforeAll(async () => {
    upstream = await FakeVllm.start({ modelName: MODEL });
  });
  beforeEach(() => {
    parent = mkdtempSync(join(tmpdir(), 'hunze-data-dir-'));
    chmodSync(parent, 0o755);
  });
  afterEach(async () => {
    await hunze?.close();
    hunze = undefined;
    rmSync(parent, { recursive: true, force: true });
  });
  afterAll(() => upstream.close());

  const start = (dataDir: string) =>
    startTestApp({
      dataDir,
      upstreams: [{ id: 'vllm-a', baseUrl: upstream.baseUrl }],
      models: [{ id: MODEL, upstreams: ['vllm-a'] }],
    });

  it('is created 0700, and nothing Hunze writes in it is open to group or others', async () => {
    const dataDir = join(parent, 'data');
    hunze = await start(dataDir);
    await hunze.createKey({ name: 'writes to the database' });
    const afterStart = openToOthers(dataDir);
    const entries = countEntries(dataDir);
    await hunze.close();
    hunze = undefined;
    expect(afterStart).toEqual([]);
    expect(openToOthers(dataDir)).toEqual([]);
    expect(lstatSync(dataDir).mode & 0o777).toBe(0o700);
    // The embedded database really lives there (thousands of files); with Postgres only the spool does.
    if (!usingPostgres()) expect(entries).toBeGreaterThan(100);
  });

  it('is tightened at start when others could read it, with a warning', async () => {
    const dataDir = join(parent, 'data');
    mkdirSync(join(dataDir, 'spool'), { recursive: true, mode: 0o755 });
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, 'spool'), 0o777);
    writeFileSync(join(dataDir, 'left-by-hand.txt'), 'x', { mode: 0o644 });
    chmodSync(join(dataDir, 'left-by-hand.txt'), 0o644);
    hunze = await start(dataDir);
    expect(openToOthers(dataDir)).toEqual([]);
    const warning = hunze.logLines.find((line) => line.includes('"evt":"data_dir_tightened"'));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning!)).toMatchObject({ path: dataDir, entries: 3 });
  });
});
