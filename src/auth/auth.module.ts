import { Global, Module, type DynamicModule } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { storeGuard } from '../residency/store-guard';
import { HunzeConfig } from '../config/hunze-config';
import { AuditModule } from '../audit/audit.module';
import { ModelsModule } from '../models/models.module';
import { AppLogger } from '../telemetry/logger';
import { AccountsController } from './accounts.controller';
import { AccountsService } from './accounts.service';
import { CliToken, KeyAuthenticator } from './key-authenticator';
import { KeyCache } from './key-cache.service';
import { KeyChangeBus } from './key-changes/key-change-bus';
import { LocalKeyChangeBus } from './key-changes/local-key-change-bus';
import type { KeyChangeFeed } from './key-changes/key-change-feed';
import { PostgresKeyChangeFeed } from './key-changes/postgres-key-change-feed';
import { RedisKeyChangeFeed } from './key-changes/redis-key-change-feed';
import { SharedKeyChangeBus } from './key-changes/shared-key-change-bus';
import { KeysController } from './keys.controller';
import { KeysService } from './keys.service';

/**
 * Postgres: LISTEN/NOTIFY, plus Redis pub/sub when configured (both carry every change, so losing Redis loses
 * none). The embedded database serves one process: in-process delivery is all it needs.
 */
async function createKeyChangeBus(
  config: HunzeConfig,
  dataSource: DataSource,
  log: AppLogger,
): Promise<KeyChangeBus> {
  if (!config.databaseUrl) return new LocalKeyChangeBus();
  const bus = new SharedKeyChangeBus(log);
  const feeds: KeyChangeFeed[] = [
    new PostgresKeyChangeFeed(
      config.databaseUrl,
      dataSource,
      bus.eventsFor('postgres'),
      storeGuard(config.file, 'database', { log }),
    ),
  ];
  if (config.redisUrl) {
    const guard = storeGuard(config.file, 'redis', { log });
    feeds.push(new RedisKeyChangeFeed(config.redisUrl, bus.eventsFor('redis'), guard));
  }
  await bus.start(feeds);
  return bus;
}

@Global()
@Module({})
export class AuthModule {
  /** `cliToken`: the local CLI token the server accepts as admin (embedded database only). */
  static forRoot(options: { http: boolean; cliToken?: string }): DynamicModule {
    return {
      module: AuthModule,
      imports: [ModelsModule, AuditModule],
      controllers: options.http ? [KeysController, AccountsController] : [],
      providers: [
        KeysService,
        AccountsService,
        KeyCache,
        KeyAuthenticator,
        { provide: CliToken, useValue: { value: options.cliToken } },
        {
          provide: KeyChangeBus,
          inject: [HunzeConfig, DataSource, AppLogger],
          useFactory: createKeyChangeBus,
        },
      ],
      exports: [KeysService, AccountsService, KeyCache, KeyChangeBus, KeyAuthenticator],
    };
  }
}
