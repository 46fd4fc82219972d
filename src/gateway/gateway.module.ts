import { MeteringModule } from '../metering/metering.module';
import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { ChatController } from './chat/chat.controller';
import { CompletionsController } from './completions/completions.controller';
import { EmbeddingsController } from './embeddings/embeddings.controller';
import { EmbeddingsService } from './embeddings/embeddings.service';
import { TeiEmbeddingsAdapter } from '../upstream/adapters/tei-embeddings.adapter';
import { Relay } from '../upstream/relay';
import { AutoRouter } from './chat/auto-router.service';
import { ChatCompletionService } from './chat/chat-completion.service';
import { GeminiController } from './gemini/gemini.controller';
import { GeminiService } from './gemini/gemini.service';
import { ResponseCache } from './chat/response-cache.service';
import { UpstreamLatency } from '../upstream/upstream-latency';
import { UpstreamPools } from '../upstream/upstream-pools.service';
import { Clock } from '../core/clock';
import { AudioController } from './audio/audio.controller';
import { HunzeConfig } from '../config/hunze-config';
import { storeGuard } from '../residency/store-guard';
import { AppLogger } from '../telemetry/logger';
import { ImageStore } from './images/image-store';
import { ImagesController } from './images/images.controller';
import { ImagesService } from './images/images.service';
import { MemoryImageStore } from './images/memory-image-store';
import { RedisImageStore } from './images/redis-image-store';
import { RemoteMedia } from './media/remote-media.service';
import { MultipartSetup } from './audio/multipart.setup';
import { TranscriptionService } from './audio/transcription.service';
import { UpstreamsController } from './upstreams/upstreams.controller';

/** Shared by every replica in Redis when redis.url is set, else in this process's memory. */
function createImageStore(config: HunzeConfig, clock: Clock, log: AppLogger): ImageStore {
  if (!config.redisUrl) return new MemoryImageStore(config, clock);
  const ttlMs = config.file.retention.imageMinutes * 60_000;
  return new RedisImageStore(config.redisUrl, ttlMs, storeGuard(config.file, 'redis', { log }), log);
}

@Module({
  imports: [ModelsModule, MeteringModule],
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
    { provide: ImageStore, inject: [HunzeConfig, Clock, AppLogger], useFactory: createImageStore },
    ImagesService,
    TranscriptionService,
    MultipartSetup,
    RemoteMedia,
  ],
  exports: [UpstreamPools, UpstreamLatency],
})
export class GatewayModule {}
