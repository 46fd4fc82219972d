// The residency guard on every Redis connection, through ioredis's supported `Connector` option (the class
// it asks for a stream on each connect and reconnect): check the host first (store-guard.ts: resolve once,
// every address inside redis.networks), then open the socket to exactly the checked address. TLS (rediss://)
// still sends SNI for, and verifies the certificate against, the host name from the URL, never the address.
// A refusal (or a failed lookup) opens nothing: the stream handed back is already destroyed with the error
// as `firstError`, which ioredis treats like a refused connection: it emits the error and retries on its
// retryStrategy, checking again each time. (Rejecting instead would end the client for good.)
// A Unix-socket path never leaves the host and connects as is.
import { createConnection, isIP, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import Redis, { AbstractConnector, type RedisOptions } from 'ioredis';
import type { StoreGuard } from './store-guard';

type NetStream = Awaited<ReturnType<AbstractConnector['connect']>>;

/** The options ioredis hands a connector: what it parsed from the URL and the client options. */
interface ConnectorOptions {
  host?: string;
  port?: number;
  path?: string;
  tls?: import('node:tls').ConnectionOptions;
  disconnectTimeout?: number;
}

/** Same message as ioredis's own connector, which ioredis recognises as a deliberate disconnect. */
const CONNECTION_CLOSED = 'Connection is closed.';

export function residencyRedisConnector(guard: StoreGuard): NonNullable<RedisOptions['Connector']> {
  return class ResidencyRedisConnector extends AbstractConnector {
    private readonly options: ConnectorOptions;

    constructor(options: unknown) {
      const connectorOptions = options as ConnectorOptions;
      super(connectorOptions.disconnectTimeout ?? 2000);
      this.options = connectorOptions;
    }

    async connect(): Promise<NetStream> {
      this.connecting = true;
      const { path, host = 'localhost', port = 6379, tls } = this.options;
      let address: string | undefined;
      if (!path) {
        try {
          address = await guard.pin(host, port);
        } catch (err) {
          return this.refused(err instanceof Error ? err : new Error(String(err)));
        }
      }
      if (!this.connecting) throw new Error(CONNECTION_CLOSED);
      if (path) this.stream = createConnection({ path });
      else if (tls) {
        const servername = tls.servername ?? (isIP(host) === 0 ? host : undefined);
        this.stream = tlsConnect({ ...tls, host: address, port, servername });
      } else this.stream = createConnection({ host: address, port });
      this.stream.once('error', (err: Error) => {
        this.firstError = err;
      });
      return this.stream;
    }

    /** A stream that never opened, failed with `err`: ioredis reports it and reconnects later. */
    private refused(err: Error): NetStream {
      this.firstError = err;
      const never = new Socket();
      never.destroy();
      this.stream = never;
      return never;
    }
  };
}

/** A Redis client whose every connection passes the guard. */
export function guardedRedis(url: string, options: RedisOptions, guard: StoreGuard): Redis {
  return new Redis(url, { ...options, Connector: residencyRedisConnector(guard) });
}
