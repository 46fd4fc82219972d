// Reads a V8 .cpuprofile (node --cpu-prof) and sums self time by function and by package, so the bench can
// write down where a gateway's CPU goes before anyone optimises.
'use strict';
const { readFileSync, readdirSync } = require('node:fs');
const { join, relative } = require('node:path');

const REPO = join(__dirname, '..', '..');

/** Where a frame's code lives: a package name, "hunze" for dist/, "node" for Node's own, or a marker. */
function owner(url) {
  if (!url) return '(native/V8)';
  if (url.startsWith('node:')) return 'node core';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.includes('/dist/')) return 'hunze';
  return relative(REPO, url.replace('file://', ''));
}

function frameName(frame) {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const file = frame.url
    .replace('file://', '')
    .replace(/^.*node_modules\//, '')
    .replace(`${REPO}/`, '');
  return `${name} ${file}:${frame.lineNumber + 1}`;
}

/**
 * Top `limit` functions and packages by self time, as shares of all sampled time. `window` (monotonic
 * clock, microseconds, the clock V8 stamps samples with and process.hrtime reads) keeps only the samples
 * taken under load, leaving out start-up and shutdown.
 */
function summarize(profile, limit = 15, window = { fromUs: -Infinity, toUs: Infinity }) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < window.fromUs || at > window.toUs) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const fns = new Map();
  const owners = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id).callFrame;
    total += us;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const fn = frameName(frame);
    fns.set(fn, (fns.get(fn) ?? 0) + us);
    const who = frame.functionName === '(garbage collector)' ? '(garbage collector)' : owner(frame.url);
    owners.set(who, (owners.get(who) ?? 0) + us);
  }
  const top = (map) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => ({ name, ms: us / 1000, share: us / total }));
  return { totalMs: total / 1000, idleShare: idle / total, functions: top(fns), owners: top(owners) };
}

/**
 * Inclusive ("total") time of the functions whose frame name matches `pattern`: what a call costs with
 * everything it calls, counted once per sample even when the function recurses.
 */
function inclusive(profile, pattern, limit = 25, window = { fromUs: -Infinity, toUs: Infinity }) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const totals = new Map();
  let all = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < window.fromUs || at > window.toUs) return;
    all += delta;
    const seen = new Set();
    for (let n = id; n !== undefined; n = parent.get(n)) {
      const name = frameName(byId.get(n).callFrame);
      if (seen.has(name) || !pattern.test(name)) continue;
      seen.add(name);
      totals.set(name, (totals.get(name) ?? 0) + delta);
    }
  });
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, us]) => ({ name, ms: us / 1000, share: us / all }));
}

function readProfile(dir) {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  return JSON.parse(readFileSync(join(dir, file), 'utf8'));
}

function summarizeDir(dir, limit, window) {
  return summarize(readProfile(dir), limit, window);
}

module.exports = { summarize, summarizeDir, inclusive, readProfile };
