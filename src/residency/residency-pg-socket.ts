// The residency guard on every PostgreSQL connection: node-postgres takes a `stream` factory (a Client
// option that pg.Pool, and so TypeORM's `extra`, pass on to every new connection) and calls
// `stream.connect(port, host)` on what it returns. This socket checks the host first (store-guard.ts: resolve
// once, every address inside database.networks) and connects to the checked address only; a refusal
// destroys it unopened, so pg reports a connection error and not a byte leaves. TLS is unaffected: pg
// upgrades with the host name it was given, so SNI and the certificate check still use it.
// A Unix-socket path never leaves the host and connects as is.
import { Socket } from 'node:net';
import type { StoreGuard } from './store-guard';

export class ResidencyPgSocket extends Socket {
  constructor(private readonly guard: StoreGuard) {
    super();
  }

  override connect(...args: unknown[]): this {
    const [port, host] = args;
    if (typeof port === 'string' && host === undefined) return super.connect(port); // <dir>/.s.PGSQL.<port>
    if (typeof port !== 'number' || typeof host !== 'string') {
      this.destroy(new Error('unexpected connect arguments for a PostgreSQL socket'));
      return this;
    }
    this.guard.pin(host, port).then(
      (address) => {
        // pg may have given up meanwhile (connectionTimeoutMillis, end()): then nothing is opened.
        if (!this.destroyed && !this.writableEnded) super.connect(port, address);
      },
      (err: Error) => this.destroy(err),
    );
    return this;
  }
}

/** The `stream` option for pg.Client / pg.Pool: one guarded socket per connection. */
export function residencyPgStream(guard: StoreGuard): () => Socket {
  return () => new ResidencyPgSocket(guard);
}
