// HAProxy's runtime API (the stats socket the haproxy role configures): per-server state and request counts,
// as operators read them with `echo "show stat" | socat stdio <socket>`.
import { connect } from 'node:net';

export interface ServerStat {
  /** UP, DOWN, DRAIN, MAINT, "UP 1/2"... */
  status: string;
  /** Sessions (requests on HTTP) the server has taken in total. */
  total: number;
}

/** One command on the runtime socket; the whole answer. */
export function runtimeCommand(socketPath: string, command: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`HAProxy runtime API did not answer "${command}" within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(`${command}\n`));
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(answer);
    });
  });
}

/** `show stat` of one backend's servers, by server name. */
export async function backendServers(socketPath: string, backend: string): Promise<Map<string, ServerStat>> {
  const csv = await runtimeCommand(socketPath, 'show stat');
  const [header, ...rows] = csv.trim().split('\n');
  const columns = header!.replace(/^# /, '').split(',');
  const at = (name: string) => columns.indexOf(name);
  const servers = new Map<string, ServerStat>();
  for (const row of rows) {
    const cells = row.split(',');
    const [proxy, server] = [cells[at('pxname')], cells[at('svname')]];
    if (proxy !== backend || server === 'BACKEND' || server === 'FRONTEND' || !server) continue;
    servers.set(server, { status: cells[at('status')] ?? '', total: Number(cells[at('stot')]) });
  }
  return servers;
}
