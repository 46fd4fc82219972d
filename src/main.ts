// Builds and starts the HTTP appliance. `hunze serve` (src/cli.ts) and the e2e tests both come through here.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule, type AppOptions } from './app.module';
import { installCheapAsyncBind } from './core/async-bind';
import { createHttpAdapter, installHttp } from './http/http-server';
import { refuseStoresOutOfPlace } from './residency/store-locations';

export async function createApp(options: AppOptions): Promise<NestFastifyApplication> {
  installCheapAsyncBind();
  // The database and Redis must be where the config says before anything connects to them.
  await refuseStoresOutOfPlace(options.config, options.logger);
  const server = options.config.file.server;
  const adapter = createHttpAdapter(server);
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(options), adapter, {
    logger: false,
    abortOnError: false,
    // Nest's default parsers include form-urlencoded, which turns form posts into half-typed objects
    // instead of 415 unsupported_media_type. configureHttp sets up JSON, MultipartSetup multipart.
    bodyParser: false,
  });
  installHttp(app, adapter, server, options.logger);
  // Ends with process.exit rather than re-raising the signal, so 'exit' handlers run after the database is
  // closed: serve's removal of <dataDir>/cli.json, and pino's flush of buffered log lines.
  app.enableShutdownHooks([], { useProcessExit: true });
  await app.init();
  return app;
}
