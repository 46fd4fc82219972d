// Two runs of the e2e suite: against real PostgreSQL (DATABASE_URL) and against embedded PGlite.
// Unit specs run once. test/summary-reporter.js prints the failures and the closing "N passed, N failed" line
// CI reads.
const transform = { '^.+\\.ts$': ['ts-jest', {}] };
const base = {
  // Node's, plus stopping what a file started but could not stop (a hook that failed or timed out).
  testEnvironment: '<rootDir>/test/setup/environment.js',
  transform,
  moduleFileExtensions: ['ts', 'js', 'json'],
};

module.exports = {
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  // Tests wait on events, not clocks; this is the bound for a machine that other work loads heavily, and it
  // applies to hooks too (starting an app on PGlite took over 30 s beside other work).
  testTimeout: 120_000,
  // The run ends by itself after any failure: leftover apps are stopped per file (test/setup/environment.js),
  // leftover child processes at the end (test/setup/global-teardown.js), and nothing can keep Jest waiting.
  forceExit: true,
  // Two workers on this 2-core machine: Jest's default (cores - 1) runs every file in one process, which took
  // over 35 minutes idle. Files share nothing but the servers (own databases, key ids, ports from port 0).
  maxWorkers: 2,
  globalTeardown: '<rootDir>/test/setup/global-teardown.js',
  projects: [
    {
      ...base,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/src/**/*.spec.ts',
        '<rootDir>/test/fakes/**/*.spec.ts',
        '<rootDir>/test/lint/**/*.spec.ts',
      ],
    },
    {
      ...base,
      displayName: 'e2e:postgres',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      setupFiles: ['<rootDir>/test/setup/postgres.ts'],
    },
    {
      ...base,
      displayName: 'e2e:pglite',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      setupFiles: ['<rootDir>/test/setup/pglite.ts'],
    },
    {
      // deploy/ run by Ansible against this machine (PostgreSQL, Redis, HAProxy): once, not per database.
      ...base,
      displayName: 'deploy',
      testMatch: ['<rootDir>/test/deploy/**/*.deploy-spec.ts'],
    },
    {
      // The web console in headless Chromium against a real appliance: once, on PostgreSQL.
      ...base,
      displayName: 'browser',
      testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'],
      setupFiles: ['<rootDir>/test/setup/postgres.ts'],
    },
  ],
};
