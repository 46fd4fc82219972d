// Runs ansible-playbook and ansible-lint for the deploy test the way an operator does (from deploy/, with
// deploy/ansible.cfg), with only the environment the test hands them, bounded in time, and reads the
// PLAY RECAP so a test can assert "nothing failed" and "nothing changed".
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/cli';
import { trackLeftover } from '../helpers/leftovers';

export const DEPLOY_DIR = join(REPO_ROOT, 'deploy');

export interface CommandResult {
  code: number | null;
  output: string;
  tookMs: number;
}

export interface RecapLine {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
}

/** Commands still running, by the stop that ends each (its whole process group). */
const running = new Set<() => Promise<void>>();

/**
 * Ends every command still running (Ansible and the workers it forked), before a test's cleanup reads the
 * pidfiles of what Ansible started: a run cut short must not start a replica after that.
 */
export async function stopRunningCommands(): Promise<void> {
  await Promise.all([...running].map((stop) => stop()));
}

/**
 * Runs a command to completion with stdout and stderr merged; SIGKILL (and a rejection) after `timeoutMs`.
 * It runs in a process group of its own, so a kill also ends the processes it forked; its stop is on record
 * (test/helpers/leftovers.ts) until it exited, for a hook that times out while it runs.
 */
export function runCommand(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number },
): Promise<CommandResult> {
  const start = Date.now();
  const child = spawn(command, args, {
    cwd: options.cwd ?? DEPLOY_DIR,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise<void>((done) => {
    child.once('exit', () => done());
    child.once('error', () => done());
  });
  const kill = () => {
    try {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
        process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  };
  const stop = trackLeftover(`${command} ${args.join(' ')}`, async () => {
    kill();
    await exited;
  });
  running.add(stop);
  void exited.then(() => (running.delete(stop), stop()));
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`${command} ${args.join(' ')} took longer than ${options.timeoutMs} ms:\n${output}`));
    }, options.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, tookMs: Date.now() - start });
    });
  });
}

/** The environment Ansible runs with: PATH and HOME from here, no colours, temp files in `tempDir`. */
export function ansibleEnv(tempDir: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    ANSIBLE_CONFIG: join(DEPLOY_DIR, 'ansible.cfg'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    ANSIBLE_LOCAL_TEMP: join(tempDir, 'ansible-local'),
    ANSIBLE_REMOTE_TEMP: join(tempDir, 'ansible-remote'),
    ANSIBLE_HOME: join(tempDir, 'ansible-home'),
    ...extra,
  };
}

/** `host : ok=1 changed=0 ...` lines of every PLAY RECAP in the output, by host (later runs win). */
export function parseRecap(output: string): Map<string, RecapLine> {
  const recap = new Map<string, RecapLine>();
  const line = /^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)/gm;
  for (const m of output.matchAll(line)) {
    recap.set(m[1]!, {
      ok: Number(m[2]),
      changed: Number(m[3]),
      unreachable: Number(m[4]),
      failed: Number(m[5]),
      skipped: Number(m[6]),
    });
  }
  return recap;
}

/** Fails with the playbook's output unless it exited 0 and no host failed or was unreachable. */
export function expectPlaybookSucceeded(result: CommandResult): Map<string, RecapLine> {
  const recap = parseRecap(result.output);
  const broken = [...recap].filter(([, r]) => r.failed > 0 || r.unreachable > 0).map(([h]) => h);
  if (result.code !== 0 || recap.size === 0 || broken.length > 0) {
    throw new Error(
      `ansible-playbook exited ${result.code}; failed hosts: ${broken.join(', ')}\n${result.output}`,
    );
  }
  return recap;
}
