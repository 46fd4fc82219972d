// One TypeORM data source: PostgreSQL when DATABASE_URL is set, the embedded PGlite database otherwise
// (typeorm-pglite, see docs/adr/0001-pglite-driver.md). Schema changes only through migrations.
import { join } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { PGliteDriver } from 'typeorm-pglite';
import { loopbackGuard, type StoreGuard } from '../residency/store-guard';
import type { HunzeConfig } from '../config/hunze-config';
import { AccountsAndKeys1732000000000 } from './migrations/1732000000000-accounts-and-keys';
import { AuditEvents1732100000000 } from './migrations/1732100000000-audit-events';
import { UsageRecords1732200000000 } from './migrations/1732200000000-usage-records';
import { AccountLimits1732300000000 } from './migrations/1732300000000-account-limits';
import { makePrivateDir } from './data-dir';
import { residencyPgStream } from '../residency/residency-pg-socket';

export const MIGRATIONS = [
  AccountsAndKeys1732000000000,
  AuditEvents1732100000000,
  UsageRecords1732200000000,
  AccountLimits1732300000000,
];

/** Serialises migrations across replicas that start at the same moment. */
const MIGRATION_LOCK = 0x68756e7a; // "hunz"

/** The entity classes, each owned by its module: src/entities.ts lists them, so this layer imports none. */
export type Entities = NonNullable<DataSourceOptions['entities']>;

/**
 * Every PostgreSQL connection of the pool passes `guard` (database.networks; see residency-pg-socket.ts).
 * Without one, the rule for a database that declares no networks applies: loopback or a Unix socket only.
 */
export function createDataSource(
  config: Pick<HunzeConfig, 'databaseUrl' | 'dataDir'>,
  entities: Entities,
  guard: StoreGuard = loopbackGuard('database'),
): DataSource {
  const common = {
    type: 'postgres' as const,
    entities,
    migrations: MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    logging: false,
  };
  let options: DataSourceOptions;
  if (config.databaseUrl) {
    options = {
      ...common,
      url: config.databaseUrl,
      extra: { max: 10, application_name: 'hunze', stream: residencyPgStream(guard) },
    };
  } else {
    const dir = join(config.dataDir, 'pglite');
    makePrivateDir(dir);
    options = { ...common, driver: new PGliteDriver({ dataDir: dir }).driver };
  }
  return new DataSource(options);
}

export function usesEmbeddedDatabase(config: Pick<HunzeConfig, 'databaseUrl'>): boolean {
  return !config.databaseUrl;
}

/** Runs pending migrations under an advisory lock; returns the names of those applied. */
export async function migrate(dataSource: DataSource): Promise<string[]> {
  await dataSource.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await dataSource.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
  }
}
