import { createServer, type Server, type Socket } from 'node:net';

export interface Tripwire {
  server: Server;
  port: number;
  /** Connections and bytes that reached it: anything above zero is a failure. */
  connections: number;
  bytes: number;
  close: () => Promise<void>;
}

/**
 * A TCP listener on 127.0.0.1 that counts connections and bytes, for tests where nothing may reach it.
 * `hangUp` closes each connection at once, so a client that did get through fails fast instead of waiting.
 */
export async function tripwire(options: { hangUp?: boolean } = {}): Promise<Tripwire> {
  const sockets = new Set<Socket>();
  const server = createServer();
  const state: Tripwire = {
    server,
    port: 0,
    connections: 0,
    bytes: 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  server.on('connection', (socket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.on('data', (chunk: Buffer) => (state.bytes += chunk.length));
    socket.on('close', () => sockets.delete(socket));
    if (options.hangUp) socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as { port: number }).port;
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  return state;
}
