// Runs the built `hunze` CLI (dist/cli.js, built by `npm test` first) as a child process, the way an operator
// does: from the repository root, with only the environment a test hands it.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { trackLeftover } from './leftovers';

export const REPO_ROOT = resolve(__dirname, '..', '..');

/**
 * Jest's bound for a test that starts CLI processes: each opens the embedded database or starts an
 * appliance, which takes 20-40 s apiece on a heavily loaded machine, and a test may start several.
 */
export const PROCESS_TEST_MS = 300_000;
const CLI = join(REPO_ROOT, 'dist', 'cli.js');
const LISTENING = /Hunze is listening on (http:\/\/\S+) /;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** When the first stdout bytes arrived (the CLI prints its result before it closes the database). */
  stdoutAt: number | undefined;
}

/** The child's environment: this process's, minus anything that would pick a database, config or port. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'PORT', 'HOST', 'HUNZE_CONFIG', 'HUNZE_DATA_DIR'])
    delete base[name];
  return { ...base, ...env };
}

function spawnCli(args: string[], env: Record<string, string>, cwd = REPO_ROOT): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * The child's stop, on record (test/helpers/leftovers.ts) from its spawn until it exited: a test or hook that
 * times out while the child still runs leaves it to the file's teardown, not running into the next file.
 */
function trackChild(name: string, child: ChildProcess): void {
  // 'error' without 'exit': it never started, so there is nothing to stop.
  const exited = new Promise<void>((done) => {
    child.once('exit', () => done());
    child.once('error', () => done());
  });
  const stop = trackLeftover(name, async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  void exited.then(() => stop());
}

export interface StartedCli {
  /** When the first stdout bytes arrived: the CLI prints its result before it closes the database. */
  firstStdout: Promise<number>;
  /** The whole run; rejects if it takes longer than its deadline (the child is killed then). */
  done: Promise<CliResult>;
}

/** Starts one CLI command; killed (and `done` rejected) if it takes longer than `timeoutMs`. */
export function startCli(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): StartedCli {
  const child = spawnCli(args, env);
  trackChild(`hunze ${args.join(' ')}`, child);
  const result: CliResult = { code: null, stdout: '', stderr: '', stdoutAt: undefined };
  let stdoutArrived: (at: number) => void = () => undefined;
  const firstStdout = new Promise<number>((resolvePromise) => (stdoutArrived = resolvePromise));
  child.stdout!.on('data', (chunk: Buffer) => {
    if (result.stdoutAt === undefined) stdoutArrived((result.stdoutAt = Date.now()));
    result.stdout += chunk.toString('utf8');
  });
  child.stderr!.on('data', (chunk: Buffer) => (result.stderr += chunk.toString('utf8')));
  const done = new Promise<CliResult>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hunze ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      result.code = code;
      resolvePromise(result);
    });
  });
  return { firstStdout, done };
}

/** Runs one CLI command to completion; killed (and the test failed) if it takes longer than `timeoutMs`. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<CliResult> {
  return startCli(args, env, timeoutMs).done;
}

export interface ServeChild {
  child: ChildProcess;
  /** The address it printed, e.g. http://127.0.0.1:41234 */
  url: string;
  stdout: () => string;
  stderr: () => string;
  /** Sends SIGTERM and resolves with the exit code once it exited; SIGKILL after `timeoutMs` (30 s default). */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; tookMs: number }>;
}

/**
 * A shell that writes <dataDir>/cli.json naming its own pid, then execs `hunze serve` in its place (same pid):
 * what a server finds after a crash and a container restart, where the entrypoint has the same pid every time.
 */
function spawnServeOverStaleEndpoint(env: Record<string, string>): ChildProcess {
  const script = `printf '{"pid":%d,"url":"http://127.0.0.1:9","token":"stale"}' $$ > "$HUNZE_DATA_DIR/cli.json" && exec "$0" "$@"`;
  return spawn('/bin/sh', ['-c', script, process.execPath, CLI, 'serve'], {
    cwd: REPO_ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Starts `hunze serve` and waits until it prints its address (120 s at most by default: a loaded machine
 * has taken over 30 s to start an appliance on the embedded database).
 */
export async function startServe(
  env: Record<string, string>,
  options: {
    overStaleEndpoint?: boolean;
    timeoutMs?: number;
    /** Working directory; default the repository root. */
    cwd?: string;
  } = {},
): Promise<ServeChild> {
  // Under PROCESS_TEST_MS with room to stop: starting on PGlite beside other work took over 120 s.
  const timeoutMs = options.timeoutMs ?? 240_000;
  const child = options.overStaleEndpoint
    ? spawnServeOverStaleEndpoint(env)
    : spawnCli(['serve'], env, options.cwd);
  trackChild('hunze serve', child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  const url = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => fail(`did not start within ${timeoutMs} ms`), timeoutMs);
    function fail(why: string): void {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`hunze serve ${why}; stderr:\n${stderr}`));
    }
    child.stderr!.on('data', () => {
      const match = LISTENING.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]!);
      }
    });
    void exited.then(({ code }) => fail(`exited with code ${code}`));
  });
  return {
    child,
    url,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop(stopTimeoutMs = 30_000) {
      const start = Date.now();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      const { code, signal } = await exited;
      clearTimeout(killer);
      return { code, signal, tookMs: Date.now() - start };
    },
  };
}
