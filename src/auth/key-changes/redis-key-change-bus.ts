import Redis from 'ioredis';
import { KEY_CHANNEL, KeyChangeBus } from './key-change-bus';

/** Redis pub/sub, for deployments that set `redis.url` (ioredis resubscribes after reconnecting). */
export class RedisKeyChangeBus extends KeyChangeBus {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly listeners: ((keyId: string) => void)[] = [];

  constructor(url: string, onConnectionError: (err: unknown) => void) {
    super();
    const options = { lazyConnect: true, maxRetriesPerRequest: 2 };
    this.publisher = new Redis(url, options);
    this.subscriber = new Redis(url, options);
    this.publisher.on('error', onConnectionError);
    this.subscriber.on('error', onConnectionError);
    this.subscriber.on('message', (channel: string, keyId: string) => {
      if (channel === KEY_CHANNEL) this.listeners.forEach((l) => l(keyId));
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.publisher.connect(), this.subscriber.connect()]);
    await this.subscriber.subscribe(KEY_CHANNEL);
  }

  async publish(keyId: string): Promise<void> {
    await this.publisher.publish(KEY_CHANNEL, keyId);
  }

  subscribe(listener: (keyId: string) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
    this.publisher.disconnect();
  }
}
