import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { HunzeConfig } from '../config/hunze-config';
import { createDataSource, migrate } from './data-source';

/** Opens the database and applies migrations before any other module starts. */
@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [HunzeConfig],
      useFactory: async (config: HunzeConfig) => {
        const dataSource = createDataSource(config);
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
