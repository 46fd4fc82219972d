import { Global, Module, type DynamicModule } from '@nestjs/common';
import { HunzeConfig } from './hunze-config';

/** Provides the one validated HunzeConfig; loading happens before Nest starts so a bad config never boots. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: HunzeConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: HunzeConfig, useValue: config }],
      exports: [HunzeConfig],
    };
  }
}
