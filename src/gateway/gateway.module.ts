import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { ChatController } from './chat.controller';
import { CompletionsController } from './completions.controller';
import { EmbeddingsController } from './embeddings.controller';
import { EmbeddingsService } from './embeddings.service';
import { TeiEmbeddingsAdapter } from './adapters/tei-embeddings.adapter';
import { Relay } from './relay.service';
import { AutoRouter } from './auto-router.service';
import { ChatCompletionService } from './chat-completion.service';
import { GeminiController } from './gemini/gemini.controller';
import { GeminiService } from './gemini/gemini.service';
import { ResponseCache } from './response-cache.service';
import { UpstreamLatency } from './upstream-latency.service';
import { UpstreamPools } from './upstream-pools.service';
import { Clock } from '../common/clock';
import { AudioController } from './audio.controller';
import { ImageStore } from './image-store.service';
import { ImagesController } from './images.controller';
import { ImagesService } from './images.service';
import { RemoteMedia } from './media/remote-media.service';
import { MultipartSetup } from './multipart.setup';
import { TranscriptionService } from './transcription.service';
import { UpstreamsController } from './upstreams.controller';

@Module({
  imports: [ModelsModule],
  controllers: [
    ChatController,
    CompletionsController,
    EmbeddingsController,
    GeminiController,
    ImagesController,
    AudioController,
    UpstreamsController,
  ],
  providers: [
    Relay,
    UpstreamPools,
    EmbeddingsService,
    TeiEmbeddingsAdapter,
    ChatCompletionService,
    ResponseCache,
    UpstreamLatency,
    AutoRouter,
    GeminiService,
    Clock,
    ImageStore,
    ImagesService,
    TranscriptionService,
    MultipartSetup,
    RemoteMedia,
  ],
  exports: [UpstreamPools],
})
export class GatewayModule {}
