import { Global, Module, type DynamicModule } from '@nestjs/common';
import { HunzeConfig } from '../config/hunze-config';
import { AppLogger } from './logger';
import { Telemetry } from './telemetry.service';

/** The metadata-only logger and the OpenTelemetry export (traces + metrics) for every module. */
@Global()
@Module({})
export class TelemetryModule {
  static forRoot(logger: AppLogger): DynamicModule {
    return {
      module: TelemetryModule,
      providers: [
        { provide: AppLogger, useValue: logger },
        {
          provide: Telemetry,
          useFactory: (config: HunzeConfig, log: AppLogger) => new Telemetry(config, log),
          inject: [HunzeConfig, AppLogger],
        },
      ],
      exports: [AppLogger, Telemetry],
    };
  }
}
