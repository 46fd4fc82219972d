// A TCP proxy on 127.0.0.1 in front of PostgreSQL, so a test can take the database away from one app without
// touching the shared server. pause() is what a SIGSTOPped postmaster looks like from outside: connections
// stay open but no byte moves, and new connections are accepted and then hang. cut() is a hard outage:
// every connection is reset and new ones are closed at once. resume() restores normal forwarding.
// record() keeps what clients send from then on, so a test can check which commands reached the target.
import net from 'node:net';

interface Pair {
  client: net.Socket;
  server: net.Socket | undefined;
}

export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private state: 'open' | 'paused' | 'cut' = 'open';
  /** Connections accepted while paused, connected to the target on resume. */
  private held: Pair[] = [];
  private recordings: Buffer[][] = [];

  private constructor(
    private readonly server: net.Server,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
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
    const server = net.connect(this.target.port, this.target.host);
    pair.server = server;
    server.on('error', () => this.destroy(pair));
    server.on('close', () => this.destroy(pair));
    pair.client.on('data', (chunk: Buffer) => {
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
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => {
    if (flowing()) from.resume();
  });
}
