// After the whole run: end any process a test started and never stopped (a `hunze serve` child whose test
// timed out, say). Such a process can hold CI's output pipe open or load the machine after the run.
const { readdirSync, readFileSync } = require('node:fs');

function children() {
  const byParent = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid ..." where comm may contain spaces and parentheses.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') continue;
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const list = byParent.get(Number(ppid)) ?? [];
      list.push({ pid: Number(entry), comm });
      byParent.set(Number(ppid), list);
    } catch {
      // the process ended while we looked
    }
  }
  return byParent;
}

module.exports = async function killLeftoverProcesses() {
  const byParent = children();
  const left = [];
  const visit = (pid) => {
    for (const child of byParent.get(pid) ?? []) {
      left.push(child);
      visit(child.pid);
    }
  };
  visit(process.pid);
  for (const { pid } of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (left.length > 0)
    process.stderr.write(
      `ended processes the tests left running: ${left.map((p) => `${p.comm}[${p.pid}]`).join(', ')}\n`,
    );
};
