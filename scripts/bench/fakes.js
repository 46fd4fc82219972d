// Parent side of fakes-child.js: fork it, learn its addresses, and call its IPC commands.
'use strict';
const { fork } = require('node:child_process');
const { join } = require('node:path');

async function startFakes() {
  const child = fork(join(__dirname, 'fakes-child.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map();
  let nextId = 1;
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('fake upstreams did not start within 10 s')), 10_000);
    child.once('exit', (code) => reject(new Error(`fake upstreams exited with code ${code}`)));
    child.on('message', (msg) => {
      if (msg.ready) {
        clearTimeout(timer);
        resolve(msg);
      } else if (pending.has(msg.id)) {
        pending.get(msg.id)(msg);
        pending.delete(msg.id);
      }
    });
  });
  const info = await ready;
  return {
    ...info,
    pid: child.pid,
    call(cmd, args = {}) {
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        child.send({ id, cmd, args });
      });
    },
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}

module.exports = { startFakes };
