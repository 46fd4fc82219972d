import { Module } from '@nestjs/common';
import { ModelRegistry } from './model-registry.service';
import { ModelsController } from './models.controller';

@Module({ providers: [ModelRegistry], controllers: [ModelsController], exports: [ModelRegistry] })
export class ModelsModule {}
