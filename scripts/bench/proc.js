// A process's resident memory and CPU time from /proc (Linux): RSS for the open-streams figures, CPU time
// per request as a load-independent cost on a machine shared with other work.
'use strict';
const { readdirSync, readFileSync } = require('node:fs');

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** Resident set size in bytes. */
function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  return kb ? Number(kb[1]) * 1024 : NaN;
}

/** User + system CPU time in milliseconds. */
function cpuMs(pid) {
  return statCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** Per thread of a process (`<tid>:<name>`), its user + system CPU time in milliseconds. */
function threadCpuMs(pid) {
  const out = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      out[`${tid}:${/\((.*)\)/.exec(stat)[1]}`] = statCpuMs(stat);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** CPU milliseconds from the text of a /proc stat file. */
function statCpuMs(stat) {
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / TICKS_PER_SECOND;
}

module.exports = { rssBytes, cpuMs, threadCpuMs };
