import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { storeGuard } from '../residency/store-guard';
import { HunzeConfig } from '../config/hunze-config';
import { AuditModule } from '../audit/audit.module';
import { ModelsModule } from '../models/models.module';
import { AppLogger } from '../telemetry/logger';
import { AccountsRepository } from './accounts.repository';
import { AccountsService } from './accounts.service';
import { ApiKeysRepository } from './api-keys.repository';
import { CliToken, KeyAuthenticator } from './key-authenticator';
import { KeyCache } from './key-cache.service';
import { KeyChangeBus } from './key-changes/key-change-bus';
import { LocalKeyChangeBus } from './key-changes/local-key-change-bus';
import type { KeyChangeFeed } from './key-changes/key-change-feed';
import { PostgresKeyChangeFeed } from './key-changes/postgres-key-change-feed';
import { RedisKeyChangeFeed } from './key-changes/redis-key-change-feed';
import { SharedKeyChangeBus } from './key-changes/shared-key-change-bus';
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

/**
 * Keys and accounts (their services and the repositories of api_keys and accounts), the key cache, the
 * key-change bus and the authenticator, imported by every module that uses them (metering, reports, http, the
 * CLI). A static module, so each app has exactly one of each however many modules import it. The admin
 * routes and the local CLI token are in AuthHttpModule, which only the HTTP appliance imports.
 */
@Module({
  imports: [ModelsModule, AuditModule],
  providers: [
    ApiKeysRepository,
    AccountsRepository,
    KeysService,
    AccountsService,
    KeyCache,
    KeyAuthenticator,
    CliToken,
    { provide: KeyChangeBus, inject: [HunzeConfig, DataSource, AppLogger], useFactory: createKeyChangeBus },
  ],
  exports: [KeysService, AccountsService, KeyCache, KeyChangeBus, KeyAuthenticator, CliToken],
})
export class AuthModule {}
