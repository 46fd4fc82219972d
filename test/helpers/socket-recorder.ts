// Records every socket this process opens and whether a residency guard checked its destination first.
// net.Socket.prototype.connect is the one door: net.connect, net.createConnection and tls.connect call it,
// and so do undici (upstreams, health checks, OTLP, media), node-postgres and ioredis. Each connect must
// consume one announcement on passedChecks (src/residency/passed-checks.ts) for exactly its address and
// port, made just before it; anything else is unguarded. Connections to `ignored` ports are the test's own
// (its HTTP client talking to the appliance).
import net from 'node:net';
import { passedChecks } from '../../src/residency/passed-checks';

export type Destination = { host: string; port: number } | { path: string };

type Connect = (this: net.Socket, ...args: unknown[]) => net.Socket;

export class SocketRecorder {
  /** Every destination connected to, in order, with the guard that approved it (or none). */
  readonly connects: { destination: Destination; guard: string | null }[] = [];
  private readonly approvals = new Map<string, string[]>();
  private original: Connect | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly ignored: () => ReadonlySet<number>) {}

  start(): void {
    if (this.original) return;
    this.unsubscribe = passedChecks.subscribe(({ destination, address, port }) => {
      const key = `${address}|${port}`;
      this.approvals.set(key, [...(this.approvals.get(key) ?? []), destination]);
    });
    const proto = net.Socket.prototype as unknown as { connect: Connect };
    const original = (this.original = proto.connect);
    const onConnect = (destination: Destination) => this.onConnect(destination);
    proto.connect = function (this: net.Socket, ...args: unknown[]): net.Socket {
      onConnect(destinationOf(args));
      return original.apply(this, args);
    };
  }

  stop(): void {
    if (!this.original) return;
    (net.Socket.prototype as unknown as { connect: Connect }).connect = this.original;
    this.original = undefined;
    this.unsubscribe?.();
  }

  /** Connects no guard announced, as readable strings. */
  unguarded(): string[] {
    return this.connects
      .filter((c) => c.guard === null)
      .map(({ destination: d }) => ('path' in d ? `unix:${d.path}` : `${d.host}:${d.port}`));
  }

  /** The names of the guards that approved connects (upstream ids, otlp, media, database, redis). */
  guards(): Set<string> {
    return new Set(this.connects.flatMap((c) => (c.guard === null ? [] : [c.guard])));
  }

  private onConnect(destination: Destination): void {
    if ('port' in destination && this.ignored().has(destination.port)) return;
    const key = 'path' in destination ? null : `${destination.host}|${destination.port}`;
    const waiting = key === null ? undefined : this.approvals.get(key);
    const guard = waiting?.shift() ?? null;
    this.connects.push({ destination, guard });
  }
}

/** Socket#connect's arguments, in each form Node accepts (net.connect passes its normalized array). */
function destinationOf(args: unknown[]): Destination {
  const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  if (typeof first === 'object' && first !== null) {
    const options = first as { host?: string; port?: number | string; path?: string };
    if (options.path) return { path: options.path };
    return { host: bare(options.host ?? 'localhost'), port: Number(options.port) };
  }
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first)))
    return { host: bare(typeof args[1] === 'string' ? args[1] : 'localhost'), port: Number(first) };
  return { path: String(first) };
}

function bare(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}
