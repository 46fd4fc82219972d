// Command-line options and the size of each phase. The full run stays under 10 minutes, --quick near 2;
// every loop in the bench is bounded by these counts and by time.
'use strict';

const KiB = 1024;

const FULL = {
  throughputSeconds: 10,
  pacedSeconds: 15,
  ttftCount: 300,
  cancelCount: 20,
  openStreams: 1000,
  connections: { xs: [1, 10, 50, 100, 200], seconds: 3 },
  streams: [100, 500, 1000, 2000],
  promptSizes: { xs: [KiB, 16 * KiB, 128 * KiB, 1024 * KiB], counts: [200, 100, 40, 12] },
  embeddingBatches: { xs: [1, 16, 128, 512, 2048], counts: [200, 60, 20, 8, 4] },
  usageWriterRecords: 100_000,
  profileSeconds: 6,
  // Near server.bodyLimitMb (25 in the bench's config).
  largeBodies: { linearBytes: 1.5 * 1024 * KiB, limitBytes: 24 * 1024 * KiB, rounds: 3 },
};

const QUICK = {
  throughputSeconds: 3,
  pacedSeconds: 5,
  ttftCount: 100,
  cancelCount: 10,
  openStreams: 1000,
  connections: { xs: [1, 50, 200], seconds: 2 },
  streams: [100, 1000],
  promptSizes: { xs: [KiB, 1024 * KiB], counts: [100, 6] },
  embeddingBatches: { xs: [1, 2048], counts: [100, 3] },
  usageWriterRecords: 30_000,
  profileSeconds: 4,
  largeBodies: { linearBytes: 1024 * KiB, limitBytes: 24 * 1024 * KiB, rounds: 2 },
};

const USAGE = `Usage: npm run bench [-- --quick] [-- --soak] [-- --no-profile]
  --quick       shorter phases and fewer curve points (about 2 minutes)
  --soak        add a 5-minute memory soak of Hunze under mixed load (RSS every 10 s)
  --no-profile  skip the --cpu-prof run of Hunze
  --no-docs     print the results only; leave docs/benchmarks.md and its charts as they are`;

function parseOptions(argv) {
  const known = new Set(['--quick', '--soak', '--no-profile', '--no-docs', '--help']);
  const unknown = argv.filter((a) => !known.has(a));
  if (unknown.length || argv.includes('--help')) {
    process.stderr.write(`${unknown.length ? `unknown option: ${unknown.join(' ')}\n` : ''}${USAGE}\n`);
    process.exit(unknown.length ? 2 : 0);
  }
  const quick = argv.includes('--quick');
  return {
    quick,
    soak: argv.includes('--soak'),
    profile: !argv.includes('--no-profile'),
    docs: !argv.includes('--no-docs'),
    plan: quick ? QUICK : FULL,
  };
}

module.exports = { parseOptions };
