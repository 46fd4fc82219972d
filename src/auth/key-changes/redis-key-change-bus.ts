import type Redis from 'ioredis';
import { guardedRedis } from '../../compliance/residency-redis-connector';
import type { StoreGuard } from '../../compliance/store-guard';
import { KEY_CHANNEL, KeyChangeBus } from './key-change-bus';

/** How long boot waits for the subscription before going on without it (ioredis subscribes once connected). */
const SUBSCRIBE_WAIT_MS = 2_000;

/**
 * Redis pub/sub, for deployments that set `redis.url`. Redis being down never stops the appliance: boot goes
 * on after SUBSCRIBE_WAIT_MS, ioredis keeps reconnecting and (re)subscribes when Redis is back, and meanwhile
 * the key cache's periodic full reload carries changes made on other replicas. A failed broadcast is reported
 * and the local cache still reloads, so an admin's revoke takes effect here at once.
 */
export class RedisKeyChangeBus extends KeyChangeBus {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  /** Connection errors are reported once per outage, not once per reconnect attempt. */
  private readonly failing = new Set<Redis>();

  constructor(
    url: string,
    private readonly onConnectionError: (err: unknown) => void,
    /** redis.networks, checked on every (re)connect of both connections. */
    guard: StoreGuard,
  ) {
    super();
    this.publisher = guardedRedis(url, { enableOfflineQueue: false, commandTimeout: 1_000 }, guard);
    this.subscriber = guardedRedis(url, { maxRetriesPerRequest: null }, guard);
    for (const connection of [this.publisher, this.subscriber]) {
      connection.on('error', (err: unknown) => {
        if (this.failing.has(connection)) return;
        this.failing.add(connection);
        onConnectionError(err);
      });
      connection.on('ready', () => this.failing.delete(connection));
    }
    this.subscriber.on('message', (channel: string, keyId: string) => {
      if (channel === KEY_CHANNEL) void this.deliver(keyId);
    });
  }

  async start(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const subscribed = this.subscriber.subscribe(KEY_CHANNEL).then(
      () => undefined,
      (err: unknown) => this.onConnectionError(err),
    );
    await Promise.race([
      subscribed,
      new Promise((resolve) => (timer = setTimeout(resolve, SUBSCRIBE_WAIT_MS))),
    ]);
    clearTimeout(timer);
  }

  override async publish(keyId: string): Promise<void> {
    try {
      await this.broadcast(keyId);
    } catch (err) {
      this.onConnectionError(err); // other replicas catch up on their periodic full reload
    }
    await this.deliver(keyId);
  }

  protected async broadcast(keyId: string): Promise<void> {
    await this.publisher.publish(KEY_CHANNEL, keyId);
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
    this.publisher.disconnect();
  }
}
