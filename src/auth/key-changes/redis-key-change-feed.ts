import type Redis from 'ioredis';
import { guardedRedis } from '../../residency/residency-redis-connector';
import type { StoreGuard } from '../../residency/store-guard';
import { KEY_CHANNEL } from './key-change-bus';
import type { FeedEvents, KeyChangeFeed } from './key-change-feed';

/** How long boot waits for the subscription before going on without it (ioredis keeps reconnecting). */
const SUBSCRIBE_WAIT_MS = 2_000;

/**
 * Redis pub/sub, for deployments that set `redis.url`. Redis being down never stops the appliance: boot goes
 * on after SUBSCRIBE_WAIT_MS, ioredis keeps reconnecting, and the feed subscribes again (and is `up` again)
 * each time the connection is ready. A broadcast while Redis is down fails at once (no offline queue).
 */
export class RedisKeyChangeFeed implements KeyChangeFeed {
  readonly name = 'redis';
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private subscribed = false;
  private onSubscribed: (() => void) | undefined;
  /** Connection errors are reported once per outage, not once per reconnect attempt. */
  private readonly failing = new Set<Redis>();

  constructor(
    url: string,
    private readonly events: FeedEvents,
    /** redis.networks, checked on every (re)connect of both connections. */
    guard: StoreGuard,
  ) {
    this.publisher = guardedRedis(url, { enableOfflineQueue: false, commandTimeout: 1_000 }, guard);
    // Subscribed by hand on every 'ready' (below), so `up` means the SUBSCRIBE was answered.
    this.subscriber = guardedRedis(url, { maxRetriesPerRequest: null, autoResubscribe: false }, guard);
    for (const connection of [this.publisher, this.subscriber]) {
      connection.on('error', (err: unknown) => {
        if (this.failing.has(connection)) return;
        this.failing.add(connection);
        events.error(err);
      });
      connection.on('ready', () => this.failing.delete(connection));
    }
    this.subscriber.on('message', (channel: string, keyId: string) => {
      if (channel === KEY_CHANNEL) events.change(keyId);
    });
    this.subscriber.on('ready', () => void this.subscribe());
    this.subscriber.on('close', () => this.setSubscribed(false));
  }

  get up(): boolean {
    return this.subscribed;
  }

  async start(): Promise<void> {
    if (this.subscribed) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.onSubscribed = resolve;
      timer = setTimeout(resolve, SUBSCRIBE_WAIT_MS);
    });
    this.onSubscribed = undefined;
    clearTimeout(timer);
  }

  async broadcast(keyId: string): Promise<void> {
    await this.publisher.publish(KEY_CHANNEL, keyId);
  }

  async close(): Promise<void> {
    this.subscribed = false;
    this.subscriber.disconnect();
    this.publisher.disconnect();
  }

  private async subscribe(): Promise<void> {
    try {
      await this.subscriber.subscribe(KEY_CHANNEL);
      if (this.subscriber.status === 'ready') this.setSubscribed(true);
    } catch (err) {
      this.events.error(err); // the connection dropped meanwhile; the next 'ready' subscribes again
    }
  }

  private setSubscribed(up: boolean): void {
    if (this.subscribed === up) return;
    this.subscribed = up;
    this.events.state(up);
    if (up) this.onSubscribed?.();
  }
}
