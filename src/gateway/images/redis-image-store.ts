// Generated images asked for as a `url`, with redis.url set: kept in Redis for retention.imageMinutes (SET
// with PX, so Redis itself forgets them), so any replica can serve a URL made by another. Redis must keep its
// data in memory only (no RDB snapshots, no AOF: deploy/roles/redis configures exactly that), or images
// would reach a disk. The Redis key is the SHA-256 of the image id, so what Redis holds never spells a
// working URL. Redis unreachable or full (maxmemory, noeviction) is a 503, never a silent local fallback
// whose URL would 404 on the other replicas.
import { createHash } from 'node:crypto';
import type { OnModuleDestroy } from '@nestjs/common';
import type Redis from 'ioredis';
import { ApiError } from '../../core/errors';
import { guardedRedis } from '../../residency/residency-redis-connector';
import type { StoreGuard } from '../../residency/store-guard';
import type { AppLogger } from '../../telemetry/logger';
import { ImageStore, newImageId, type StoredImage } from './image-store';

const KEY_PREFIX = 'hunze:image:';
/** A multi-megabyte image on a busy Redis: generous, but a stalled Redis still answers 503 in bounded time. */
const COMMAND_TIMEOUT_MS = 10_000;

/** owner and content type, then a newline, then the image bytes. */
interface Header {
  owner: string;
  contentType: string;
}

export class RedisImageStore extends ImageStore implements OnModuleDestroy {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly ttlMs: number,
    guard: StoreGuard,
    private readonly log: AppLogger,
  ) {
    super();
    this.redis = guardedRedis(url, { maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT_MS }, guard);
    this.redis.on('error', () => undefined); // each failed command reports itself below
  }

  async put(owner: string, image: StoredImage): Promise<string> {
    const id = newImageId();
    const header: Header = { owner, contentType: image.contentType };
    const value = Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), image.bytes]);
    await this.call(() => this.redis.set(redisKey(id), value, 'PX', this.ttlMs));
    return id;
  }

  async get(id: string, owner: string): Promise<StoredImage | undefined> {
    const value = await this.call(() => this.redis.getBuffer(redisKey(id)));
    if (!value) return undefined;
    const newline = value.indexOf(0x0a);
    const header = JSON.parse(value.subarray(0, newline).toString('utf8')) as Header;
    if (header.owner !== owner) return undefined;
    return { bytes: value.subarray(newline + 1), contentType: header.contentType };
  }

  onModuleDestroy(): void {
    this.redis.disconnect();
  }

  private async call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      this.log.error('image_store_failed', err, { store: 'redis' });
      throw new ApiError('image_store_unavailable');
    }
  }
}

/** The Redis key an image id is kept under (test helpers read its TTL through it). */
export function redisKey(id: string): string {
  return KEY_PREFIX + createHash('sha256').update(id).digest('hex');
}
