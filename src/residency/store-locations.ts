// Where DATABASE_URL and redis.url point, checked before anything connects: at boot (a refusal stops the
// appliance) and by `hunze config check` (one line per problem, like the other residency problems). The
// same guard checks every later connect and reconnect (residency-pg-socket.ts, residency-redis-connector.ts);
// this is the early, readable answer. Lines name the store, the resolved address and the declared key, never
// the URL (it may carry a password).
import Redis from 'ioredis';
import { Client } from 'pg';
import { ConfigError } from '../config/config.loader';
import type { HunzeConfig } from '../config/hunze-config';
import type { WarnLog } from '../core/event-log';
import type { ResidencyReason } from './residency-guard';
import { storeGuard, type StoreGuardHooks, type StoreName } from './store-guard';

export interface StoreFinding {
  store: StoreName;
  /** True: the address is outside what the store declares (residency); false: it could not be checked. */
  refused: boolean;
  reason?: ResidencyReason;
  address?: string;
  line: string;
}

/** Where a store's client would connect: a TCP host and port, or a Unix socket (never leaves the host). */
export type StoreEndpoint = { socketPath: string } | { host: string; port: number };

/** Exactly as node-postgres reads the URL (its defaults and PG* variables included). */
export function databaseEndpoint(url: string): StoreEndpoint {
  const { host, port } = new Client({ connectionString: url });
  return host.startsWith('/') ? { socketPath: host } : { host, port };
}

/** Exactly as ioredis reads the URL; the client is built unconnected and dropped. */
export function redisEndpoint(url: string): StoreEndpoint {
  const client = new Redis(url, { lazyConnect: true });
  const options = client.options as { path?: string; host?: string; port?: number };
  client.disconnect();
  if (options.path) return { socketPath: options.path };
  return { host: options.host ?? 'localhost', port: options.port ?? 6379 };
}

/** Every store in use (DATABASE_URL set, redis.url set), checked; an empty list means all is well. */
export async function checkStoreLocations(
  config: Pick<HunzeConfig, 'file' | 'databaseUrl' | 'redisUrl'>,
  hooks: Pick<StoreGuardHooks, 'resolve' | 'geo'> = {},
): Promise<StoreFinding[]> {
  const stores: [StoreName, string, () => StoreEndpoint][] = [];
  const { databaseUrl, redisUrl } = config;
  if (databaseUrl) stores.push(['database', 'DATABASE_URL', () => databaseEndpoint(databaseUrl)]);
  if (redisUrl) stores.push(['redis', 'redis.url', () => redisEndpoint(redisUrl)]);
  const findings = await Promise.all(
    stores.map(([store, source, endpoint]) => checkStore(config, store, source, endpoint, hooks)),
  );
  return findings.filter((finding): finding is StoreFinding => finding !== undefined);
}

/**
 * At boot: a store outside its declared place stops the appliance before anything connects (ConfigError,
 * one line each, logged as `residency_violation` too). A host that does not resolve is only logged: the
 * connection fails or retries on its own, and checks again when it connects.
 */
export async function refuseStoresOutOfPlace(
  config: Pick<HunzeConfig, 'file' | 'databaseUrl' | 'redisUrl'>,
  log: WarnLog,
  hooks: Pick<StoreGuardHooks, 'resolve' | 'geo'> = {},
): Promise<void> {
  const findings = await checkStoreLocations(config, hooks);
  for (const { store, refused, reason, address } of findings)
    if (refused) log.warn('residency_violation', { upstream: store, reason, address });
    else log.warn('store_location_unchecked', { store });
  const refusals = findings.filter((finding) => finding.refused).map((finding) => finding.line);
  if (refusals.length > 0) throw new ConfigError(refusals);
}

async function checkStore(
  config: Pick<HunzeConfig, 'file'>,
  store: StoreName,
  source: string,
  endpointOf: () => StoreEndpoint,
  hooks: Pick<StoreGuardHooks, 'resolve' | 'geo'>,
): Promise<StoreFinding | undefined> {
  let endpoint: StoreEndpoint;
  try {
    endpoint = endpointOf();
  } catch {
    return { store, refused: false, line: `${store}: ${source} cannot be read as a connection URL` };
  }
  if ('socketPath' in endpoint) return undefined;
  const guard = storeGuard(config.file, store, hooks);
  let verdict;
  try {
    verdict = await guard.check(endpoint.host);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const why = typeof code === 'string' ? code : 'lookup failed';
    return { store, refused: false, line: `${store}: the host of ${source} cannot be resolved (${why})` };
  }
  if (verdict.allowed) return undefined;
  const { reason, address } = verdict;
  const declared = config.file[store].networks;
  const where =
    declared.length > 0
      ? `outside ${store}.networks (${declared.join(', ')})`
      : `not a loopback address (declare ${store}.networks for a ${store} on another host)`;
  const country = config.file[store].country ?? config.file.appliance.operator.country ?? 'no country';
  const what: Record<ResidencyReason, string> = {
    outside_networks: where,
    country_mismatch: `a public address outside ${country} (${store}.country)`,
    country_unknown: `a public address whose country is unknown`,
    unroutable_address: `not a single host`,
    no_address: `no address at all`,
  };
  const resolved = address ? `resolves to ${address}, ${what[reason]}` : `resolves to ${what[reason]}`;
  return {
    store,
    refused: true,
    reason,
    address,
    line: `${store}: residency violation: ${source} ${resolved}`,
  };
}
