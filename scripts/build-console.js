#!/usr/bin/env node
// `npm run build` step for the web console: compiles the browser modules in src/console/web (their own
// tsconfig: DOM, ES modules) and copies the static files beside them into dist/console/web, which the
// appliance serves at /console. The directory is rebuilt from scratch so a removed file is not served.
const { execFileSync } = require('node:child_process');
const { cpSync, mkdirSync, readdirSync, rmSync } = require('node:fs');
const { extname, join } = require('node:path');

const root = join(__dirname, '..');
const source = join(root, 'src', 'console', 'web');
const target = join(root, 'dist', 'console', 'web');
const STATIC = new Set(['.html', '.css', '.svg']);

rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(source, 'tsconfig.json')], {
  stdio: 'inherit',
});
for (const name of readdirSync(source))
  if (STATIC.has(extname(name))) cpSync(join(source, name), join(target, name));
