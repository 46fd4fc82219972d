import { Global, Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { storeGuard } from '../compliance/store-guard';
import { HunzeConfig } from '../config/hunze-config';
import { ModelsModule } from '../models/models.module';
import { AppLogger } from '../telemetry/logger';
import { AccountsController } from './accounts.controller';
import { AccountsService } from './accounts.service';
import { AuthGuard, CliToken } from './auth.guard';
import { KeyCache } from './key-cache.service';
import { KeyChangeBus } from './key-changes/key-change-bus';
import { LocalKeyChangeBus } from './key-changes/local-key-change-bus';
import { PostgresKeyChangeBus } from './key-changes/postgres-key-change-bus';
import { RedisKeyChangeBus } from './key-changes/redis-key-change-bus';
import { KeysController } from './keys.controller';
import { KeysService } from './keys.service';

/** Redis when configured (shared with rate limits), else Postgres NOTIFY, else in-process (embedded db). */
async function createKeyChangeBus(
  config: HunzeConfig,
  dataSource: DataSource,
  log: AppLogger,
): Promise<KeyChangeBus> {
  const onError = (err: unknown) => log.error('key_change_bus_error', err);
  if (config.redisUrl) {
    const bus = new RedisKeyChangeBus(config.redisUrl, onError, storeGuard(config.file, 'redis', { log }));
    await bus.start();
    return bus;
  }
  if (config.databaseUrl) {
    const guard = storeGuard(config.file, 'database', { log });
    const bus = new PostgresKeyChangeBus(config.databaseUrl, dataSource, onError, guard);
    await bus.start();
    return bus;
  }
  return new LocalKeyChangeBus();
}

@Global()
@Module({})
export class AuthModule {
  /** `cliToken`: the local CLI token the server accepts as admin (embedded database only). */
  static forRoot(options: { http: boolean; cliToken?: string }): DynamicModule {
    return {
      module: AuthModule,
      imports: [ModelsModule],
      controllers: options.http ? [KeysController, AccountsController] : [],
      providers: [
        KeysService,
        AccountsService,
        KeyCache,
        { provide: CliToken, useValue: { value: options.cliToken } },
        {
          provide: KeyChangeBus,
          inject: [HunzeConfig, DataSource, AppLogger],
          useFactory: createKeyChangeBus,
        },
        ...(options.http ? [{ provide: APP_GUARD, useClass: AuthGuard }] : []),
      ],
      exports: [KeysService, AccountsService, KeyCache, KeyChangeBus],
    };
  }
}
