#!/usr/bin/env node
// The `hunze` command. Thin: parses arguments, then calls the same services the HTTP API uses.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import pino from 'pino';
import { CliModule } from './app.module';
import { runAccountsCommand } from './cli/accounts.command';
import { runAuditCommand } from './cli/audit.command';
import { runKeysCommand } from './cli/keys.command';
import { runReportCommand } from './cli/report.command';
import { runUsageCommand } from './cli/usage.command';
import { checkStoreLocations } from './residency/store-locations';
import { storeGuard } from './residency/store-guard';
import { ConfigError, loadConfig } from './config/config.loader';
import type { HunzeConfig } from './config/hunze-config';
import { tightenTree } from './database/data-dir';
import { createDataSource, migrate, usesEmbeddedDatabase } from './database/data-source';
import { ENTITIES } from './entities';
import { serve } from './serve';
import { AppLogger } from './telemetry/logger';

const USAGE = `Usage: hunze <command>

  serve                         start the appliance (what npm start runs)
  config check                  validate the configuration; exit 1 with one line per problem
  keys create --name N [--role user|admin|dpo] [--account A] [--models a,b] [--rpm N] [--tpm N]
              [--monthly-tokens N] [--expires ISO] [--json]
  keys list [--json]
  keys revoke ID
  accounts list [--json]        accounts with their limits and active key counts
  accounts set NAME [--rpm N] [--tpm N] [--monthly-tokens N] [--clear] [--json]
                                set an account's limits (created when new); --clear removes those not given
  usage [--from D] [--to D] [--group-by model|key|account|day] [--format table|csv|json]
                                usage sums (default: this UTC month by model, as a table; to exclusive)
  audit verify [--json]         check the audit hash chain; exit 1 naming the first broken row
  audit export [--format jsonl] every audit event, one JSON object a line, to stdout
  report dpa|tom|subprocessors|ropa [--format md|html|pdf|json] [--out PATH]
                                one compliance report (default md to stdout; PATH a file or directory)
  report all --out DIR [--format md|html|pdf|json]
                                the four reports into DIR, in the format given or in every format
  db migrate                    apply pending database migrations

Environment: HUNZE_CONFIG, DATABASE_URL, HUNZE_DATA_DIR, HUNZE_ADMIN_KEY, REDIS_URL, PORT, HOST.`;

export class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const [command, sub] = argv;
  if (!command || command === '--help' || command === 'help') return print(USAGE, 0);
  if (command === 'config' && sub === 'check') return configCheck();
  const config = loadConfig();
  switch (command) {
    case 'serve':
      await serve(config);
      return -1; // keeps running
    case 'keys':
      return runKeysCommand(sub, argv.slice(2), config, () => cliContext(config));
    case 'accounts':
      return runAccountsCommand(sub, argv.slice(2), config, () => cliContext(config));
    case 'audit':
      return runAuditCommand(sub, argv.slice(2), config, () => cliContext(config));
    case 'report':
      return runReportCommand(sub, argv.slice(2), config, () => cliContext(config));
    case 'usage':
      return runUsageCommand(argv.slice(1), config, () => cliContext(config));
    case 'db':
      if (sub === 'migrate') return dbMigrate(config);
      break;
  }
  throw new UsageError(`unknown command: ${argv.join(' ')}`);
}

/** Resolves the database's and Redis's hosts (DNS) to check them against their declared networks. */
async function configCheck(): Promise<number> {
  try {
    const config = loadConfig();
    const stores = await checkStoreLocations(config);
    if (stores.length > 0) throw new ConfigError(stores.map((finding) => finding.line));
    const { upstreams, models } = config.file;
    return print(
      `${config.sourcePath}: valid (${upstreams.length} upstreams, ${models.length} models, fingerprint ${config.fingerprint})`,
      0,
    );
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.problems.join('\n')}\n`);
    return 1;
  }
}

async function dbMigrate(config: HunzeConfig): Promise<number> {
  const dataSource = createDataSource(config, ENTITIES, storeGuard(config.file, 'database'));
  await dataSource.initialize();
  try {
    const applied = await migrate(dataSource);
    return print(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date', 0);
  } finally {
    await dataSource.destroy();
    if (usesEmbeddedDatabase(config)) tightenTree(config.dataDir);
  }
}

/** CLI output (keys, JSON) owns stdout, so the CLI's own log lines go to stderr. */
function cliContext(config: HunzeConfig) {
  return NestFactory.createApplicationContext(
    CliModule.forRoot({ config, logger: new AppLogger('warn', pino.destination(2)) }),
    {
      logger: false,
      abortOnError: false,
    },
  );
}

function print(text: string, code: number): number {
  process.stdout.write(`${text}\n`);
  return code;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof ConfigError) process.stderr.write(`${err.problems.join('\n')}\n`);
      else if (err instanceof UsageError) process.stderr.write(`${err.message}\n\n${USAGE}\n`);
      else process.stderr.write(`hunze: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    },
  );
}

export { main };
