import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConsoleAssets } from './console-assets';

describe('loadConsoleAssets', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'hunze-console-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('serves only html, css, js and svg files, each with its content type and a content etag', () => {
    for (const name of [
      'index.html',
      'main.js',
      'console.css',
      'favicon.svg',
      'main.js.map',
      'tsconfig.json',
    ])
      writeFileSync(join(dir, name), `content of ${name}`);
    mkdirSync(join(dir, 'nested.js')); // a directory named like a file is not read
    const assets = loadConsoleAssets(dir);
    expect([...assets.keys()].sort()).toEqual(['console.css', 'favicon.svg', 'index.html', 'main.js']);
    expect(assets.get('index.html')?.contentType).toBe('text/html; charset=utf-8');
    expect(assets.get('main.js')?.contentType).toBe('text/javascript; charset=utf-8');
    expect(assets.get('main.js')?.body.toString()).toBe('content of main.js');
    expect(assets.get('main.js')?.etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    expect(assets.get('main.js')?.etag).not.toBe(assets.get('console.css')?.etag);
  });

  it('is empty when the console was not built', () => {
    expect(loadConsoleAssets(join(dir, 'missing')).size).toBe(0);
  });
});
