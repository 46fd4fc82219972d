import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { storeGuard } from '../residency/store-guard';
import { HunzeConfig } from '../config/hunze-config';
import { AppLogger } from '../telemetry/logger';
import { prepareDataDir, tightenTree } from './data-dir';
import { createDataSource, migrate, usesEmbeddedDatabase, type Entities } from './data-source';

/** Opens the database and applies migrations before any other module starts. */
@Module({})
export class DatabaseModule implements OnApplicationShutdown {
  /** `entities`: the entity classes of the modules above (src/entities.ts). */
  static forRoot(entities: Entities): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      providers: [
        {
          provide: DataSource,
          inject: [HunzeConfig, AppLogger],
          useFactory: async (config: HunzeConfig, log: AppLogger) => {
            // The usage spool lives there too, so the data directory is private with either database.
            const tooOpen = prepareDataDir(config.dataDir);
            if (tooOpen > 0) log.warn('data_dir_tightened', { path: config.dataDir, entries: tooOpen });
            const dataSource = createDataSource(
              config,
              entities,
              storeGuard(config.file, 'database', { log }),
            );
            await dataSource.initialize();
            await migrate(dataSource);
            if (usesEmbeddedDatabase(config)) tightenTree(config.dataDir);
            return dataSource;
          },
        },
      ],
      exports: [DataSource],
    };
  }

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
