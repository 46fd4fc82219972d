import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import type { StoreGuard } from '../../compliance/store-guard';
import { residencyPgStream } from '../../database/residency-pg-socket';
import { KEY_CHANNEL, KeyChangeBus } from './key-change-bus';

/**
 * LISTEN/NOTIFY on the shared Postgres. The listener holds its own connection (a pooled one would be
 * returned and lose the LISTEN); it reconnects after a drop, and the cache's periodic refresh covers the gap.
 */
export class PostgresKeyChangeBus extends KeyChangeBus {
  private client: Client | undefined;
  private closed = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly dataSource: DataSource,
    private readonly onConnectionError: (err: unknown) => void,
    /** database.networks, checked on every (re)connect. */
    private readonly guard: StoreGuard,
  ) {
    super();
  }

  async start(): Promise<void> {
    const client = new Client({
      connectionString: this.databaseUrl,
      application_name: 'hunze-listen',
      stream: residencyPgStream(this.guard),
    });
    client.on('notification', (msg) => {
      if (msg.channel === KEY_CHANNEL && msg.payload) void this.deliver(msg.payload);
    });
    client.on('error', (err) => {
      this.onConnectionError(err);
      this.reconnectLater();
    });
    await client.connect();
    await client.query(`LISTEN ${KEY_CHANNEL}`);
    this.client = client;
  }

  protected async broadcast(keyId: string): Promise<void> {
    await this.dataSource.query('SELECT pg_notify($1, $2)', [KEY_CHANNEL, keyId]);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client?.end().catch(() => undefined);
  }

  private reconnectLater(): void {
    const old = this.client;
    this.client = undefined;
    void old?.end().catch(() => undefined);
    if (this.closed) return;
    setTimeout(() => {
      if (!this.closed) this.start().catch((err) => (this.onConnectionError(err), this.reconnectLater()));
    }, 1000).unref();
  }
}
