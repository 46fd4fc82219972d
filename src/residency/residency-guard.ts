// The connect-time residency check, as pure logic: every address an upstream's host resolved to must lie in
// the upstream's declared `networks`, and a public address must also geolocate to its declared country.
// One address failing refuses them all (a resolver that mixes in a foreign address is not trusted).
// Media fetches go to hosts a client names: for them a public address need only geolocate to one of the
// allowed countries, and `networks` bounds only private and loopback addresses (policy `networksBound`).
// The geo-IP data is offline: geoip-country ships its database inside the npm package (GeoLite2 Country),
// nothing is downloaded at install or run time, and its update watcher is never started.
import ipaddr from 'ipaddr.js';

export type ResidencyReason =
  'outside_networks' | 'country_mismatch' | 'country_unknown' | 'unroutable_address' | 'no_address';

export interface ResidencyPolicy {
  networks: readonly string[];
  /**
   * Where a public address must geolocate: ISO 3166-1 alpha-2 of the destination's declared location, or a
   * set of upper-case codes any of which will do (a media fetch: any country of residency.allowedRegions).
   */
  country: string | ReadonlySet<string>;
  /**
   * Which addresses `networks` bounds: 'all' (the default: declared destinations, every address inside), or
   * 'non_public' (media fetches: private and loopback addresses only where listed, public ones by country).
   */
  networksBound?: 'all' | 'non_public';
}

/** ISO 3166-1 alpha-2 country of a public address, or null when the database does not know it. */
export type GeoLookup = (address: string) => string | null;

export type ResidencyVerdict =
  | { allowed: true; address: string; family: 4 | 6 }
  | { allowed: false; reason: ResidencyReason; address?: string; family?: 4 | 6 };

/** Private, loopback and link-local ranges: only the networks check applies (no geolocation exists). */
const NON_PUBLIC = new Set(['private', 'loopback', 'linkLocal', 'uniqueLocal', 'carrierGradeNat']);
/** Never a single host to connect to. */
const UNROUTABLE = new Set(['unspecified', 'multicast', 'broadcast']);

/**
 * Checks every resolved address; allowed verdicts name the first address, which is the one to connect to
 * (pinned: the caller must not resolve again).
 */
export function checkAddresses(
  policy: ResidencyPolicy,
  addresses: readonly string[],
  geo: GeoLookup = geoipCountry,
): ResidencyVerdict {
  if (addresses.length === 0) return { allowed: false, reason: 'no_address' };
  const ranges = policy.networks.flatMap(parseRange);
  for (const raw of addresses) {
    const verdict = checkOne(raw, ranges, policy, geo);
    if (verdict) return verdict;
  }
  const first = ipaddr.process(addresses[0]!);
  return { allowed: true, address: first.toString(), family: first.kind() === 'ipv4' ? 4 : 6 };
}

function checkOne(
  raw: string,
  ranges: readonly [ipaddr.IPv4 | ipaddr.IPv6, number][],
  policy: ResidencyPolicy,
  geo: GeoLookup,
): Extract<ResidencyVerdict, { allowed: false }> | null {
  if (!ipaddr.isValid(raw)) return { allowed: false, reason: 'unroutable_address' };
  const address = ipaddr.process(raw); // ::ffff:10.0.0.1 is checked as 10.0.0.1
  const family = address.kind() === 'ipv4' ? 4 : 6;
  const refuse = (reason: ResidencyReason) =>
    ({ allowed: false, reason, address: address.toString(), family }) as const;
  const range = address.range();
  if (UNROUTABLE.has(range)) return refuse('unroutable_address');
  const isPublic = !NON_PUBLIC.has(range);
  const bounded = !isPublic || policy.networksBound !== 'non_public';
  const inside = ranges.some(([net, bits]) => net.kind() === address.kind() && address.match(net, bits));
  if (bounded && !inside) return refuse('outside_networks');
  if (!isPublic) return null;
  const located = geo(address.toString());
  if (located === null) return refuse('country_unknown');
  if (!countryAllowed(located.toUpperCase(), policy.country)) return refuse('country_mismatch');
  return null;
}

function countryAllowed(located: string, allowed: string | ReadonlySet<string>): boolean {
  return typeof allowed === 'string' ? located === allowed.toUpperCase() : allowed.has(located);
}

function parseRange(cidr: string): [ipaddr.IPv4 | ipaddr.IPv6, number][] {
  try {
    const [net, bits] = ipaddr.parseCIDR(cidr);
    // A declared ::ffff:10.0.0.0/104 matches IPv4 10.0.0.0/8 as well.
    if (net.kind() === 'ipv6' && (net as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96)
      return [[(net as ipaddr.IPv6).toIPv4Address(), bits - 96]];
    return [[net, bits]];
  } catch {
    return []; // the config schema already rejects malformed ranges; a bad one matches nothing
  }
}

interface GeoipCountry {
  lookup(ip: string): { country?: string } | null;
}
let geoipModule: GeoipCountry | undefined;

/** The offline database, loaded on first use (about 8 MB, read from the package directory). */
export function geoipCountry(address: string): string | null {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  geoipModule ??= require('geoip-country') as GeoipCountry;
  const country = geoipModule.lookup(address)?.country;
  return typeof country === 'string' && country.length === 2 ? country : null;
}
