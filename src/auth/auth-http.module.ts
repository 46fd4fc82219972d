import { Module, type DynamicModule } from '@nestjs/common';
import { AccountsController } from './accounts.controller';
import { AuthModule } from './auth.module';
import { CliToken } from './key-authenticator';
import { KeysController } from './keys.controller';

/** Sets the app's CliToken while the app is built, before any request can be authenticated. */
class CliTokenSetting {}

/**
 * Auth as the HTTP appliance runs it: AuthModule (./auth.module.ts, imported by the modules that use keys),
 * the admin routes `/admin/v1/keys` and `/admin/v1/accounts`, and the local CLI token the server accepts as
 * admin (embedded database only; see ./local-cli-token.ts). Imported once, by the app's root module.
 */
@Module({})
export class AuthHttpModule {
  static forRoot(options: { cliToken?: string }): DynamicModule {
    return {
      module: AuthHttpModule,
      imports: [AuthModule],
      controllers: [KeysController, AccountsController],
      providers: [
        {
          provide: CliTokenSetting,
          inject: [CliToken],
          useFactory: (token: CliToken): CliTokenSetting => {
            token.value = options.cliToken;
            return new CliTokenSetting();
          },
        },
      ],
      exports: [AuthModule],
    };
  }
}
