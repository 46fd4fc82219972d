import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { storeGuard } from '../residency/store-guard';
import { HunzeConfig } from '../config/hunze-config';
import { AppLogger } from '../telemetry/logger';
import { prepareDataDir, tightenTree } from './data-dir';
import { createDataSource, migrate, usesEmbeddedDatabase } from './data-source';

/** Opens the database and applies migrations before any other module starts. */
@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [HunzeConfig, AppLogger],
      useFactory: async (config: HunzeConfig, log: AppLogger) => {
        // The usage spool lives there too, so the data directory is private with either database.
        const tooOpen = prepareDataDir(config.dataDir);
        if (tooOpen > 0) log.warn('data_dir_tightened', { path: config.dataDir, entries: tooOpen });
        const dataSource = createDataSource(config, storeGuard(config.file, 'database', { log }));
        await dataSource.initialize();
        await migrate(dataSource);
        if (usesEmbeddedDatabase(config)) tightenTree(config.dataDir);
        return dataSource;
      },
    },
  ],
  exports: [DataSource],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(HunzeConfig) private readonly config: HunzeConfig,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    // What PGlite created while running (0666, inside 0700 directories) is made private at rest too.
    if (usesEmbeddedDatabase(this.config)) tightenTree(this.config.dataDir);
  }
}
