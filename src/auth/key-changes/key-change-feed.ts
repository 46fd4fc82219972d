/**
 * One transport between replicas for key changes (Postgres LISTEN/NOTIFY or Redis pub/sub). A feed is `up`
 * while it is subscribed, i.e. while a change broadcast by another replica would reach this one.
 */
export type FeedName = 'postgres' | 'redis';

export interface FeedEvents {
  /** A change broadcast by some replica (this one included) arrived. */
  change(keyId: string): void;
  /** The feed was subscribed (true) or lost its subscription (false). */
  state(up: boolean): void;
  /** A connection or broadcast error (metadata only is logged). */
  error(err: unknown): void;
}

export interface KeyChangeFeed {
  readonly name: FeedName;
  readonly up: boolean;
  /** Connects and subscribes; resolves when subscribed or after a bounded wait (it keeps trying). */
  start(): Promise<void>;
  broadcast(keyId: string): Promise<void>;
  close(): Promise<void>;
}
