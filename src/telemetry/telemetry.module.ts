import { Global, Module, type DynamicModule } from '@nestjs/common';
import { AppLogger } from './logger';

/** The metadata-only logger (and, with issue 5, OpenTelemetry) for every module. */
@Global()
@Module({})
export class TelemetryModule {
  static forRoot(logger: AppLogger): DynamicModule {
    return {
      module: TelemetryModule,
      providers: [{ provide: AppLogger, useValue: logger }],
      exports: [AppLogger],
    };
  }
}
