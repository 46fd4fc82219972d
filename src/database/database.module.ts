import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { storeGuard } from '../compliance/store-guard';
import { HunzeConfig } from '../config/hunze-config';
import { AppLogger } from '../telemetry/logger';
import { createDataSource, migrate } from './data-source';

/** Opens the database and applies migrations before any other module starts. */
@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [HunzeConfig, AppLogger],
      useFactory: async (config: HunzeConfig, log: AppLogger) => {
        const dataSource = createDataSource(config, storeGuard(config.file, 'database', { log }));
        await dataSource.initialize();
        await migrate(dataSource);
        return dataSource;
      },
    },
  ],
  exports: [DataSource],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
