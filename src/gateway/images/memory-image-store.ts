// Generated images that a client asked to get as a `url`, without redis.url: held in this process's memory
// only (never on disk), each under a 256-bit random id and bound to the account whose key created it, for
// `retention.imageMinutes`. A URL therefore works on the replica that made it only.
// Memory is bounded: past MAX_STORE_BYTES the oldest images go first. A replica restart forgets them all,
// which is the promise (images are not stored), not a loss.
import type { OnModuleDestroy } from '@nestjs/common';
import type { Clock } from '../../core/clock';
import type { HunzeConfig } from '../../config/hunze-config';
import { ImageStore, newImageId, type StoredImage } from './image-store';

/** Upper bound of image bytes held at once (about 170 FLUX 1024x1024 PNGs). */
export const MAX_STORE_BYTES = 256 * 1024 * 1024;
/** Expired images are dropped at least this often (and never served once expired). */
const SWEEP_INTERVAL_MS = 60_000;

interface Entry extends StoredImage {
  owner: string;
  expiresAt: number;
}

export class MemoryImageStore extends ImageStore implements OnModuleDestroy {
  /** Insertion order is age order: the first entry is the oldest. */
  private readonly entries = new Map<string, Entry>();
  private totalBytes = 0;
  private readonly ttlMs: number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    config: HunzeConfig,
    private readonly clock: Clock,
    private readonly maxBytes: number = MAX_STORE_BYTES,
  ) {
    super();
    this.ttlMs = config.file.retention.imageMinutes * 60_000;
    this.sweeper = setInterval(() => this.sweep(), Math.min(this.ttlMs, SWEEP_INTERVAL_MS)).unref();
  }

  async put(owner: string, image: StoredImage): Promise<string> {
    return this.keep(owner, image);
  }

  async get(id: string, owner: string): Promise<StoredImage | undefined> {
    return this.read(id, owner);
  }

  keep(owner: string, image: StoredImage): string {
    const id = newImageId();
    this.makeRoom(image.bytes.length);
    this.entries.set(id, { ...image, owner, expiresAt: this.clock.now() + this.ttlMs });
    this.totalBytes += image.bytes.length;
    return id;
  }

  read(id: string, owner: string): StoredImage | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.clock.now()) {
      this.delete(id, entry);
      return undefined;
    }
    if (entry.owner !== owner) return undefined;
    return { bytes: entry.bytes, contentType: entry.contentType };
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Drops every expired image. */
  sweep(): void {
    const now = this.clock.now();
    for (const [id, entry] of this.entries) if (entry.expiresAt <= now) this.delete(id, entry);
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
    this.entries.clear();
    this.totalBytes = 0;
  }

  private makeRoom(incoming: number): void {
    for (const [id, entry] of this.entries) {
      if (this.totalBytes + incoming <= this.maxBytes) return;
      this.delete(id, entry);
    }
  }

  private delete(id: string, entry: Entry): void {
    this.entries.delete(id);
    this.totalBytes -= entry.bytes.length;
  }
}
