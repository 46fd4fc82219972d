// Starts a server the bench measures (or measures against) in its own process and waits until it says it is
// ready; stop() ends it with SIGTERM, SIGKILL after a grace period.
'use strict';
const { spawn } = require('node:child_process');

/**
 * Spawns `node ...args` and resolves once a line of its stdout or stderr matches `ready`, with the match;
 * rejects with its output if it exits first or does not get there within `timeoutMs`. `stdout` may be a file
 * descriptor to write it to instead (then only stderr is watched).
 */
async function startChild(
  name,
  args,
  { env = process.env, cwd, stdout = 'pipe', ready, timeoutMs, graceMs = 5_000 },
) {
  const child = spawn(process.execPath, args, { env, cwd, stdio: ['ignore', stdout, 'pipe'] });
  let output = '';
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const match = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start in ${timeoutMs / 1000} s:\n${output}`)),
      timeoutMs,
    );
    const collect = (chunk) => {
      output += chunk.toString('utf8');
      const found = ready.exec(output);
      if (!found) return;
      clearTimeout(timer);
      resolve(found);
    };
    child.stdout?.on('data', collect);
    child.stderr.on('data', collect);
    void exited.then(({ code }) => reject(new Error(`${name} exited with ${code}:\n${output}`)));
  });
  return {
    child,
    match,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(killer);
      return result;
    },
  };
}

module.exports = { startChild };
