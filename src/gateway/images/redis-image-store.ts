// Generated images asked for as a `url`, with redis.url set: kept in Redis for retention.imageMinutes (SET
// with PX, so Redis itself forgets them), so any replica can serve a URL made by another. Redis must keep its
// data in memory only (no RDB snapshots, no AOF: deploy/roles/redis configures exactly that), or images
// would reach a disk: each connection asks Redis (CONFIG GET) before its first image, and a Redis that
// persists, or will not say, is given none (503). The Redis key is the SHA-256 of the image id, so what Redis holds never spells a
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
  /** Whether the Redis behind the current connection keeps nothing on disk; asked again after a reconnect. */
  private memoryOnly: Promise<boolean> | undefined;

  constructor(
    url: string,
    private readonly ttlMs: number,
    guard: StoreGuard,
    private readonly log: AppLogger,
  ) {
    super();
    this.redis = guardedRedis(url, { maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT_MS }, guard);
    this.redis.on('error', () => undefined); // each failed command reports itself below
    // A reconnect may reach another server (a failover, a restart with other settings).
    this.redis.on('ready', () => (this.memoryOnly = undefined));
  }

  async put(owner: string, image: StoredImage): Promise<string> {
    const id = newImageId();
    const header: Header = { owner, contentType: image.contentType };
    const value = Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), image.bytes]);
    if (!(await this.keepsNothingOnDisk())) throw new ApiError('image_store_unavailable');
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

  private keepsNothingOnDisk(): Promise<boolean> {
    this.memoryOnly ??= this.askPersistence().then(
      (memoryOnly) => {
        if (!memoryOnly) this.forgetAnswer('image_store_persists_to_disk');
        return memoryOnly;
      },
      (err: unknown) => {
        // A refused CONFIG (renamed away on a managed Redis) leaves persistence unknown; anything else is a
        // Redis that could not be reached.
        const refused = err instanceof Error && err.name === 'ReplyError';
        this.forgetAnswer(refused ? 'image_store_persistence_unknown' : 'image_store_failed', err);
        return false;
      },
    );
    return this.memoryOnly;
  }

  /** No RDB snapshot rule and no append-only file. */
  private async askPersistence(): Promise<boolean> {
    const [save, appendonly] = await Promise.all([
      this.redis.config('GET', 'save') as Promise<string[]>,
      this.redis.config('GET', 'appendonly') as Promise<string[]>,
    ]);
    return save[1] === '' && appendonly[1] === 'no';
  }

  /** Logs why no image is stored; the next image asks again, so a reconfigured Redis is taken up. */
  private forgetAnswer(evt: string, err?: unknown): void {
    if (err === undefined) this.log.warn(evt, { store: 'redis' });
    else this.log.error(evt, err, { store: 'redis' });
    this.memoryOnly = undefined;
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
