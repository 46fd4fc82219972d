import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { ChatController } from './chat.controller';
import { CompletionsController } from './completions.controller';
import { Relay } from './relay.service';
import { UpstreamPools } from './upstream-pools.service';

@Module({
  imports: [ModelsModule],
  controllers: [ChatController, CompletionsController],
  providers: [Relay, UpstreamPools],
  exports: [UpstreamPools],
})
export class GatewayModule {}
