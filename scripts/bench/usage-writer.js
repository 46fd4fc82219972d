// The usage writer phase: runs scripts/bench-usage-writer.js (the real UsageWriter from dist/ into a fresh
// PostgreSQL database) in its own process and reads its two result lines.
'use strict';
const { spawn } = require('node:child_process');
const { join } = require('node:path');

const SCRIPT = join(__dirname, '..', 'bench-usage-writer.js');

function runUsageWriterBench(records, timeLimitMs = 150_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, String(records)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeLimitMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const burst = /burst:\s+(\d+) records in ([\d.]+) s = (\d+) records\/s/.exec(out);
      const paced = /paced:\s+(\d+) records offered at (\d+)\/s; max queue (\d+), all in (\d+) ms/.exec(out);
      if (code !== 0 || !burst) return reject(new Error(`bench-usage-writer.js failed (${code}):\n${out}`));
      resolve({
        burstRecords: Number(burst[1]),
        burstPerSecond: Number(burst[3]),
        pacedOffered: paced ? Number(paced[2]) : NaN,
        pacedMaxQueue: paced ? Number(paced[3]) : NaN,
        pacedDrainMs: paced ? Number(paced[4]) : NaN,
      });
    });
  });
}

module.exports = { runUsageWriterBench };
