// Where generated images asked for as a `url` are kept until retention.imageMinutes have passed: in memory
// only, never on disk. One replica keeps them in its own memory (memory-image-store.ts); with redis.url set
// they go to Redis (redis-image-store.ts), so a URL made on one replica works on every other one.
import { randomBytes } from 'node:crypto';

export interface StoredImage {
  bytes: Buffer;
  contentType: string;
}

export abstract class ImageStore {
  /** Keeps the image and returns its id: 43 url-safe characters that nobody can guess. */
  abstract put(owner: string, image: StoredImage): Promise<string>;

  /** The image, if it exists, has not expired, and belongs to `owner`; otherwise undefined (all alike). */
  abstract get(id: string, owner: string): Promise<StoredImage | undefined>;
}

/** 256 random bits, base64url. */
export function newImageId(): string {
  return randomBytes(32).toString('base64url');
}
