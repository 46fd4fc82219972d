import type { AppLogger } from '../../telemetry/logger';
import { KeyChangeBus } from './key-change-bus';
import type { FeedEvents, FeedName, KeyChangeFeed } from './key-change-feed';

/**
 * Key changes between replicas over every configured feed at once: Postgres LISTEN/NOTIFY always (the
 * database every revocation is written to) and Redis pub/sub when `redis.url` is set, so losing Redis loses no
 * change. A change arrives once per feed; the key cache applies it idempotently (it reloads the key's row).
 * Connected while at least one feed is subscribed: every publisher sends on every feed it can reach.
 */
export class SharedKeyChangeBus extends KeyChangeBus {
  private feeds: KeyChangeFeed[] = [];
  private wasConnected = false;

  constructor(private readonly log: AppLogger) {
    super();
  }

  /** The events a feed reports through; `name` labels its log lines. */
  eventsFor(name: FeedName): FeedEvents {
    return {
      change: (keyId) => void this.deliver(keyId),
      state: (up) => this.feedState(name, up),
      error: (err) => this.log.error('key_change_bus_error', err, { feed: name }),
    };
  }

  async start(feeds: KeyChangeFeed[]): Promise<void> {
    this.feeds = feeds;
    await Promise.all(feeds.map((feed) => feed.start()));
    this.wasConnected = this.connected;
    if (!this.wasConnected) this.log.warn('key_change_feed_down', { feeds: this.describeFeeds() });
  }

  get connected(): boolean {
    return this.feeds.some((feed) => feed.up);
  }

  /** Each feed's name and whether it is subscribed (metrics). */
  override feedStates(): Record<string, boolean> {
    return Object.fromEntries(this.feeds.map((feed) => [feed.name, feed.up]));
  }

  /** Sends on every feed; one that fails is reported and the others still carry the change. */
  protected async broadcast(keyId: string): Promise<void> {
    const results = await Promise.allSettled(this.feeds.map((feed) => feed.broadcast(keyId)));
    results.forEach((result, i) => {
      if (result.status === 'rejected')
        this.log.error('key_change_bus_error', result.reason, { feed: this.feeds[i]!.name });
    });
    if (results.length > 0 && results.every((result) => result.status === 'rejected'))
      this.log.warn('key_change_broadcast_failed', { feeds: this.describeFeeds() });
  }

  /** e.g. "postgres=up redis=down", for log lines (fixed words only). */
  private describeFeeds(): string {
    return this.feeds.map((feed) => `${feed.name}=${feed.up ? 'up' : 'down'}`).join(' ');
  }

  async close(): Promise<void> {
    await Promise.all(this.feeds.map((feed) => feed.close()));
  }

  private feedState(name: FeedName, up: boolean): void {
    this.log.event(up ? 'key_change_feed_up' : 'key_change_feed_lost', { feed: name });
    const connected = this.connected;
    if (connected === this.wasConnected) return;
    this.wasConnected = connected;
    if (!connected) this.log.warn('key_change_feed_down', { feeds: this.describeFeeds() });
    this.connectedChanged(connected);
  }
}
