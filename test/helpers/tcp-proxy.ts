// A TCP proxy on 127.0.0.1 in front of PostgreSQL, so a test can take the database away from one app without
// touching the shared server. pause() is what a SIGSTOPped postmaster looks like from outside: connections
// stay open but no byte moves, and new connections are accepted and then hang. cut() is a hard outage:
// every connection is reset and new ones are closed at once. resume() restores normal forwarding.
// record() keeps what clients send from then on, so a test can check which commands reached the target.
// sever(match) cuts only the connections whose first bytes match (e.g. a PostgreSQL startup message naming
// one application_name) and refuses new ones like them until allow(); the target may also be a Unix socket.
import net from 'node:net';

interface Pair {
  client: net.Socket;
  server: net.Socket | undefined;
  /** The client's first bytes, as latin1 (what sever() matches). */
  opening?: string;
}

type Target = { host: string; port: number } | { path: string };

export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private state: 'open' | 'paused' | 'cut' = 'open';
  /** Connections accepted while paused, connected to the target on resume. */
  private held: Pair[] = [];
  private recordings: Buffer[][] = [];
  private severed: ((opening: string) => boolean) | undefined;

  private constructor(
    private readonly server: net.Server,
    private readonly target: Target,
  ) {}

  static async start(target: Target): Promise<TcpProxy> {
    const server = net.createServer();
    const proxy = new TcpProxy(server, target);
    server.on('connection', (socket) => proxy.accept(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** A PostgreSQL URL with the proxy's address in place of the target's. */
  static async forDatabaseUrl(databaseUrl: string): Promise<{ proxy: TcpProxy; url: string }> {
    const url = new URL(databaseUrl);
    const proxy = await TcpProxy.start({ host: url.hostname, port: Number(url.port || 5432) });
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    return { proxy, url: url.toString() };
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Open connections (held ones included). */
  get connections(): number {
    return this.pairs.size;
  }

  /**
   * Keeps every byte clients send from now on, on every connection. Bytes sent while paused are read (and
   * kept) only once the proxy resumes: check a recording after resume().
   */
  record(): { text(): string } {
    const chunks: Buffer[] = [];
    this.recordings.push(chunks);
    return { text: () => Buffer.concat(chunks).toString('latin1') };
  }

  pause(): void {
    this.state = 'paused';
    for (const pair of this.pairs) {
      pair.client.pause();
      pair.server?.pause();
    }
  }

  cut(): void {
    this.state = 'cut';
    this.held = [];
    for (const pair of [...this.pairs]) this.destroy(pair);
  }

  resume(): void {
    this.state = 'open';
    const held = this.held;
    this.held = [];
    for (const pair of held) this.connect(pair);
    for (const pair of this.pairs) {
      pair.client.resume();
      pair.server?.resume();
    }
  }

  /** Cuts every connection whose first bytes match, and each new one that matches, until allow(). */
  sever(match: (opening: string) => boolean): void {
    this.severed = match;
    for (const pair of [...this.pairs])
      if (pair.opening !== undefined && match(pair.opening)) this.destroy(pair);
  }

  allow(): void {
    this.severed = undefined;
  }

  async close(): Promise<void> {
    this.recordings = [];
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    if (this.state === 'cut') {
      client.destroy();
      return;
    }
    const pair: Pair = { client, server: undefined };
    this.pairs.add(pair);
    client.on('error', () => this.destroy(pair));
    client.on('close', () => this.destroy(pair));
    if (this.state === 'paused') {
      client.pause();
      this.held.push(pair);
    } else {
      this.connect(pair);
    }
  }

  private connect(pair: Pair): void {
    const target = this.target;
    const server = 'path' in target ? net.connect(target.path) : net.connect(target.port, target.host);
    pair.server = server;
    server.on('error', () => this.destroy(pair));
    server.on('close', () => this.destroy(pair));
    pair.client.on('data', (chunk: Buffer) => {
      if (pair.opening === undefined) {
        pair.opening = chunk.toString('latin1');
        if (this.severed?.(pair.opening)) this.destroy(pair);
      }
      for (const chunks of this.recordings) chunks.push(chunk);
    });
    forward(pair.client, server, () => this.state === 'open');
    forward(server, pair.client, () => this.state === 'open');
  }

  private destroy(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.server?.destroy();
  }
}

/** Copies bytes with backpressure; a paused proxy must not be resumed by a 'drain'. */
function forward(from: net.Socket, to: net.Socket, flowing: () => boolean): void {
  from.on('data', (chunk: Buffer) => {
    if (to.destroyed) return; // severed on this very chunk
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => {
    if (flowing()) from.resume();
  });
}
