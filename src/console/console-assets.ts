// The console's static files (built by `npm run build` into dist/console/web), read into memory once.
// Only the files found there at start are ever served, looked up by exact name, so no request path reaches
// the file system.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { Injectable } from '@nestjs/common';

export interface ConsoleAsset {
  body: Buffer;
  contentType: string;
  etag: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * dist/console/web from both dist/console (the built server) and src/console (ts-jest), so tests of the
 * TypeScript sources serve the same built files.
 */
export const CONSOLE_ASSET_DIR = resolve(__dirname, '..', '..', 'dist', 'console', 'web');

export function loadConsoleAssets(dir: string): Map<string, ConsoleAsset> {
  const assets = new Map<string, ConsoleAsset>();
  if (!existsSync(dir)) return assets;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const { name } = entry;
    const contentType = CONTENT_TYPES[extname(name)];
    if (!entry.isFile() || !contentType) continue; // source maps, tsconfig leftovers: not served
    const body = readFileSync(join(dir, name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    assets.set(name, { body, contentType, etag });
  }
  return assets;
}

@Injectable()
export class ConsoleAssets {
  private readonly assets = loadConsoleAssets(CONSOLE_ASSET_DIR);

  get(name: string): ConsoleAsset | undefined {
    return this.assets.get(name);
  }
}
