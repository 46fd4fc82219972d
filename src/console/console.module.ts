import { Module } from '@nestjs/common';
import { ConsoleAssets } from './console-assets';
import { ConsoleController } from './console.controller';

/**
 * The web console (`GET /console`): static files only. Everything it shows and does goes through the admin
 * API (/admin/v1) with the signed-in key; the browser code lives in ./web (its own tsconfig, built by
 * scripts/build-console.js).
 */
@Module({ controllers: [ConsoleController], providers: [ConsoleAssets] })
export class ConsoleModule {}
