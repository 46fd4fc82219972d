// HUNZE_DATA_DIR holds the embedded database (key hashes, accounts, usage and audit rows) and the usage spool,
// so only Hunze's own user may read it: directories 0700, files 0600. PGlite creates its files 0666 and its
// directories 0755 whatever the umask, so its tree is tightened after it opens and again after it closes;
// between the two, the 0700 directories above keep everyone else out of anything it adds. A data directory
// that others can read (made by hand, or by an older version) is tightened at start with a warning.
import { chmodSync, lstatSync, mkdirSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
const GROUP_AND_OTHERS = 0o077;

/** Creates `dir` and any missing parents, each 0700. */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * Takes every group and other permission off `root` and everything under it (symbolic links are neither
 * followed nor changed); returns how many entries it changed. Entries that vanish meanwhile are skipped.
 */
export function tightenTree(root: string): number {
  let changed = 0;
  // Iterative: a deep tree cannot overflow the stack.
  const pending = [root];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    const stat = statOrUndefined(path);
    if (!stat || stat.isSymbolicLink()) continue;
    if (stat.isDirectory()) pending.push(...listOrEmpty(path).map((name) => join(path, name)));
    if ((stat.mode & GROUP_AND_OTHERS) === 0) continue;
    chmodSync(path, stat.mode & (stat.isDirectory() ? PRIVATE_DIR_MODE : PRIVATE_FILE_MODE | 0o100));
    changed++;
  }
  return changed;
}

/** Creates the data directory 0700, or tightens an existing one; returns how many entries were too open. */
export function prepareDataDir(dataDir: string): number {
  makePrivateDir(dataDir);
  return tightenTree(dataDir);
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function listOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
