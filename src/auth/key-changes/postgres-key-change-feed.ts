import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import type { StoreGuard } from '../../residency/store-guard';
import { residencyPgStream } from '../../residency/residency-pg-socket';
import { KEY_CHANNEL } from './key-change-bus';
import type { FeedEvents, KeyChangeFeed } from './key-change-feed';

const RECONNECT_MS = 1_000;

/**
 * LISTEN/NOTIFY on the shared Postgres: the feed every replica of a Postgres deployment has, since every
 * revocation is written there. The listener holds its own connection (a pooled one would be returned and lose
 * the LISTEN); it reconnects every second after a drop and is `up` only while its LISTEN stands.
 */
export class PostgresKeyChangeFeed implements KeyChangeFeed {
  readonly name = 'postgres';
  private client: Client | undefined;
  private listening = false;
  private closed = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly dataSource: DataSource,
    private readonly events: FeedEvents,
    /** database.networks, checked on every (re)connect. */
    private readonly guard: StoreGuard,
  ) {}

  get up(): boolean {
    return this.listening;
  }

  async start(): Promise<void> {
    await this.connect();
  }

  async broadcast(keyId: string): Promise<void> {
    await this.dataSource.query('SELECT pg_notify($1, $2)', [KEY_CHANNEL, keyId]);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listening = false;
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.databaseUrl,
      application_name: 'hunze-listen',
      stream: residencyPgStream(this.guard),
    });
    this.client = client;
    client.on('notification', (msg) => {
      if (msg.channel === KEY_CHANNEL && msg.payload) this.events.change(msg.payload);
    });
    client.on('error', (err) => this.dropped(err, client));
    client.on('end', () => this.dropped(new Error('listener connection ended'), client));
    try {
      await client.connect();
      await client.query(`LISTEN ${KEY_CHANNEL}`);
    } catch (err) {
      this.dropped(err, client);
      return;
    }
    if (this.closed || this.client !== client) return;
    this.listening = true;
    this.events.state(true);
  }

  /** Once per lost connection: reports it, marks the feed down and schedules a reconnect. */
  private dropped(err: unknown, client: Client): void {
    if (client !== this.client || this.closed) return;
    this.client = undefined;
    void client.end().catch(() => undefined);
    this.events.error(err);
    if (this.listening) {
      this.listening = false;
      this.events.state(false);
    }
    setTimeout(() => {
      if (!this.closed) void this.connect();
    }, RECONNECT_MS).unref();
  }
}
