// Residency for the appliance's own stores, PostgreSQL and Redis: where their connections may go. Declared
// `networks` (database.networks, redis.networks) are the only allowed ranges, loopback included only when
// listed; with none declared the store must be the appliance itself: a loopback address (or a Unix socket,
// which never leaves the host and is not checked). A public address must also geolocate to the store's
// country (declared, else the operator's). Each connect resolves the host once, checks every address
// (residency-guard.ts) and connects to exactly the checked one, as the upstream connector does; a refusal
// opens no socket, is logged as `residency_violation` and published on residencyEvents for the audit log.
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { HunzeConfigFile } from '../config/config.schema';
import type { WarnLog } from '../core/event-log';
import { passedChecks } from './passed-checks';
import {
  ResidencyViolationError,
  residencyEvents,
  type Resolver,
  type ResidencyViolation,
} from './residency-connector';
import {
  checkAddresses,
  geoipCountry,
  type GeoLookup,
  type ResidencyPolicy,
  type ResidencyVerdict,
} from './residency-guard';

export type StoreName = 'database' | 'redis';

/** The appliance itself: where a store may be when it declares no networks. */
export const LOOPBACK_NETWORKS: readonly string[] = ['127.0.0.0/8', '::1/128'];

export interface StoreGuardHooks {
  /** dns.promises.lookup with `all: true` unless given (tests inject their own). */
  resolve?: Resolver;
  geo?: GeoLookup;
  /** Where refusals are logged (metadata only); residencyEvents hears of them either way. */
  log?: WarnLog;
}

export class StoreGuard {
  constructor(
    readonly store: StoreName,
    readonly policy: ResidencyPolicy,
    private readonly hooks: StoreGuardHooks = {},
  ) {}

  /** Resolves the host once (an IP literal is not looked up) and checks every address; reports nothing. */
  async check(host: string): Promise<ResidencyVerdict> {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    const resolve = this.hooks.resolve ?? ((name, options) => dnsLookup(name, options));
    const addresses =
      isIP(bare) !== 0 ? [bare] : (await resolve(bare, { all: true })).map((entry) => entry.address);
    return checkAddresses(this.policy, addresses, this.hooks.geo ?? geoipCountry);
  }

  /**
   * For one connect: the checked address to open the socket to (the caller must not resolve again). A
   * refusal is logged and published, then thrown as ResidencyViolationError; a failed lookup is thrown as is.
   */
  async pin(host: string, port: number): Promise<string> {
    const verdict = await this.check(host);
    if (!verdict.allowed) {
      const { reason, family, address } = verdict;
      const violation: ResidencyViolation = { upstream: this.store, reason, family, address };
      this.hooks.log?.warn('residency_violation', { ...violation });
      residencyEvents.publish(violation);
      throw new ResidencyViolationError(this.store, reason);
    }
    passedChecks.publish({ destination: this.store, address: verdict.address, port });
    return verdict.address;
  }
}

/** The guard for one store, from the configuration: its declared networks and country. */
export function storeGuard(
  file: Pick<HunzeConfigFile, 'database' | 'redis' | 'appliance'>,
  store: StoreName,
  hooks: StoreGuardHooks = {},
): StoreGuard {
  const { networks, country } = file[store];
  return new StoreGuard(store, storePolicy(networks, country ?? file.appliance.operator.country), hooks);
}

/** The rule when nothing is declared (loopback only), for callers without a configuration (tests, tools). */
export function loopbackGuard(store: StoreName, hooks: StoreGuardHooks = {}): StoreGuard {
  return new StoreGuard(store, storePolicy([], undefined), hooks);
}

function storePolicy(networks: readonly string[], country: string | undefined): ResidencyPolicy {
  // No country: a public address can never match it, which is right (only loopback or declared private
  // ranges then); config.consistency.ts asks for one when networks are declared.
  return { networks: networks.length > 0 ? networks : LOOPBACK_NETWORKS, country: country ?? '' };
}
