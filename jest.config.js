// Two runs of the e2e suite: against real PostgreSQL (DATABASE_URL) and against embedded PGlite.
// Unit specs run once. test/summary-reporter.js prints the closing "N passed, N failed" line CI reads.
const transform = { '^.+\\.ts$': ['ts-jest', {}] };
const base = { testEnvironment: 'node', transform, moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  testTimeout: 30000,
  projects: [
    {
      ...base,
      displayName: 'unit',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/fakes/**/*.spec.ts'],
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
