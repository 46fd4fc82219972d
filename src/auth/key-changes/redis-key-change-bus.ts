import Redis from 'ioredis';
import { KEY_CHANNEL, KeyChangeBus } from './key-change-bus';

/** Redis pub/sub, for deployments that set `redis.url` (ioredis resubscribes after reconnecting). */
export class RedisKeyChangeBus extends KeyChangeBus {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;

  constructor(url: string, onConnectionError: (err: unknown) => void) {
    super();
    const options = { lazyConnect: true, maxRetriesPerRequest: 2 };
    this.publisher = new Redis(url, options);
    this.subscriber = new Redis(url, options);
    this.publisher.on('error', onConnectionError);
    this.subscriber.on('error', onConnectionError);
    this.subscriber.on('message', (channel: string, keyId: string) => {
      if (channel === KEY_CHANNEL) void this.deliver(keyId);
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.publisher.connect(), this.subscriber.connect()]);
    await this.subscriber.subscribe(KEY_CHANNEL);
  }

  protected async broadcast(keyId: string): Promise<void> {
    await this.publisher.publish(KEY_CHANNEL, keyId);
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
    this.publisher.disconnect();
  }
}
