import { Module, type DynamicModule } from '@nestjs/common';
import { AuditHttpModule } from './audit/audit-http.module';
import { AuditModule } from './audit/audit.module';
import { AuthHttpModule } from './auth/auth-http.module';
import { AuthModule } from './auth/auth.module';
import { ConfigController } from './config/config.controller';
import { ConfigModule } from './config/config.module';
import type { HunzeConfig } from './config/hunze-config';
import { ConsoleModule } from './console/console.module';
import { DatabaseModule } from './database/database.module';
import { ENTITIES } from './entities';
import { GatewayModule } from './gateway/gateway.module';
import { HealthModule } from './health/health.module';
import { HttpModule } from './http/http.module';
import { MeteringModule } from './metering/metering.module';
import { UsageModule } from './metering/usage.module';
import { ModelsModule } from './models/models.module';
import { ReportsHttpModule } from './reports/reports-http.module';
import { ReportsModule } from './reports/reports.module';
import type { AppLogger } from './telemetry/logger';
import { TelemetryModule } from './telemetry/telemetry.module';

export interface AppOptions {
  config: HunzeConfig;
  logger: AppLogger;
  /** Local CLI token accepted as admin (embedded database only; see src/auth/local-cli-token.ts). */
  cliToken?: string;
}

/** The HTTP appliance. */
@Module({})
export class AppModule {
  static forRoot(options: AppOptions): DynamicModule {
    return {
      module: AppModule,
      controllers: [ConfigController],
      imports: [
        ConfigModule.forRoot(options.config),
        TelemetryModule.forRoot(options.logger),
        DatabaseModule.forRoot(ENTITIES),
        AuthHttpModule.forRoot({ cliToken: options.cliToken }),
        ModelsModule,
        MeteringModule,
        AuditHttpModule,
        ReportsHttpModule,
        GatewayModule,
        HealthModule,
        ConsoleModule,
        HttpModule,
      ],
    };
  }
}

/** What the CLI needs without HTTP: config, database, key management, the usage report and the reports. */
@Module({})
export class CliModule {
  static forRoot(options: Omit<AppOptions, 'cliToken'>): DynamicModule {
    return {
      module: CliModule,
      imports: [
        ConfigModule.forRoot(options.config),
        TelemetryModule.forRoot(options.logger),
        DatabaseModule.forRoot(ENTITIES),
        AuditModule,
        AuthModule,
        UsageModule,
        ReportsModule,
      ],
    };
  }
}
