// Where a service the appliance talks to lives, as far as its URL tells: host and port, and whether the host
// is this machine, a private network or a public address. Credentials in the URL are never read out, and
// host names are not resolved (a report must not depend on DNS at generation time).
import ipaddr from 'ipaddr.js';

export type HostScope = 'loopback' | 'private' | 'public' | 'hostname' | 'socket';

export interface ServiceLocation {
  host: string;
  port: string;
  scope: HostScope;
}

const PRIVATE_RANGES = new Set(['private', 'uniqueLocal', 'linkLocal', 'carrierGradeNat']);

export function hostScope(host: string): HostScope {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === '') return 'socket';
  if (bare.toLowerCase() === 'localhost') return 'loopback';
  if (!ipaddr.isValid(bare)) return 'hostname';
  let address = ipaddr.parse(bare);
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress())
    address = (address as ipaddr.IPv6).toIPv4Address();
  const range = address.range();
  if (range === 'loopback') return 'loopback';
  if (PRIVATE_RANGES.has(range)) return 'private';
  return 'public';
}

/** Host and port of a URL without its credentials; undefined when it does not parse. */
export function locateUrl(url: string, defaultPort: string): ServiceLocation | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const host = parsed.hostname;
  return { host: host || 'local socket', port: parsed.port || defaultPort, scope: hostScope(host) };
}

export function describeScope(scope: HostScope): string {
  switch (scope) {
    case 'loopback':
      return 'loopback address: this machine only';
    case 'private':
      return 'private network address';
    case 'public':
      return 'public address';
    case 'hostname':
      return 'host name, not resolved for this report';
    case 'socket':
      return 'local socket on this machine';
  }
}
