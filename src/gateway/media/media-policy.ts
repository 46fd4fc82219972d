// Where a media fetch may connect, as a residency policy for the connector: a public address must geolocate
// to a country of residency.allowedRegions; a private, loopback or link-local address only when
// media.allowedHosts lists the URL's host name or a CIDR range (or the IP itself) containing it.
import { isIP } from 'node:net';
import type { ResidencyPolicy } from '../../residency/residency-guard';

const EVERYWHERE = ['0.0.0.0/0', '::/0'];

export interface MediaAllowances {
  /** Host names (lower case, no trailing dot) whose private addresses a fetch may reach. */
  hostNames: ReadonlySet<string>;
  /** CIDR ranges (IP literals as /32 or /128) a fetch may reach on private addresses. */
  networks: readonly string[];
}

/** Splits media.allowedHosts into host names and ranges, once at boot. */
export function mediaAllowances(allowedHosts: readonly string[]): MediaAllowances {
  const hostNames = new Set<string>();
  const networks: string[] = [];
  for (const entry of allowedHosts) {
    if (entry.includes('/')) networks.push(entry);
    else if (isIP(entry) === 4) networks.push(`${entry}/32`);
    else if (isIP(entry) === 6) networks.push(`${entry}/128`);
    else hostNames.add(normaliseHost(entry));
  }
  return { hostNames, networks };
}

/** The policy for one fetch of a URL whose host is `host` (as URL.hostname gives it). */
export function mediaPolicy(
  host: string,
  allowances: MediaAllowances,
  countries: ReadonlySet<string>,
): ResidencyPolicy {
  const listed = allowances.hostNames.has(normaliseHost(host));
  return {
    networks: listed ? EVERYWHERE : allowances.networks,
    country: countries,
    networksBound: 'non_public',
  };
}

function normaliseHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}
