// The measures on where data can go besides the upstreams: media referenced by URL, the database and Redis
// (their declared locations, checked at every connect), and the inference servers' own outbound traffic as
// the deployment declares it. Each check states what the configuration says and what the appliance enforces;
// what lies on another host is marked as declared, not verified.
import type { StoreLocationConfig, UpstreamConfig } from '../config/config.schema';
import { expandRegions, normaliseCountry } from '../core/regions';
import type { MeasureCheck } from './measure-check';
import { byText } from './processing';
import type { ReportEvidence } from './report-evidence';
import { describeScope, type ServiceLocation } from './service-location';

type Check = (e: ReportEvidence) => MeasureCheck;

export const mediaUrls: Check = (e) => {
  const m = e.file.media;
  const regions = e.file.residency.allowedRegions.join(', ');
  if (m.remoteUrls === 'refuse')
    return {
      status: 'in_force',
      evidence: [
        'Remote media URLs are refused (media.remoteUrls: refuse): a request with an image, audio or file URL ' +
          'other than a data: URI is answered 400 remote_media_refused and nothing is sent to an upstream',
        'Inference servers receive media only inside the request, as data: URIs; they are never asked to fetch anything',
      ],
    };
  return {
    status: 'in_force',
    evidence: [
      'Remote media URLs are fetched by the appliance itself (media.remoteUrls: fetch), through the residency ' +
        `check: a public address must geolocate to the allowed regions (${regions}); a private or loopback ` +
        `address only when listed in media.allowedHosts (${m.allowedHosts.join(', ') || 'none listed'})`,
      `At most ${m.maxBytes} bytes (media.maxBytes) within ${m.timeoutMs} ms (media.timeoutMs), no redirects, ` +
        'image and audio content types only; passed upstream as a data: URI',
      'Media bytes and URLs are content: never logged or stored; only the host verdict and the size are counted',
    ],
  };
};

/** Where a store may be: its declared networks and country, or the appliance itself. */
function declaredLocation(e: ReportEvidence, key: 'database' | 'redis', store: StoreLocationConfig): string {
  if (store.networks.length === 0)
    return `Declared location: none (${key}.networks is empty), so only loopback or a Unix socket on this machine is allowed`;
  const country = normaliseCountry(store.country ?? e.file.appliance.operator.country ?? '?');
  const source = store.country ? `${key}.country` : 'appliance.operator.country';
  return `Declared location: networks ${store.networks.join(', ')} (${key}.networks), country ${country} (${source})`;
}

function guardedStore(
  e: ReportEvidence,
  key: 'database' | 'redis',
  what: string,
  location: ServiceLocation,
): MeasureCheck {
  const store = e.file[key];
  const country = normaliseCountry(store.country ?? e.file.appliance.operator.country ?? '?');
  const inside = store.networks.length === 0 || expandRegions(e.file.residency.allowedRegions).has(country);
  return {
    status: inside ? 'in_force' : 'not_in_force',
    evidence: [
      `${what} at ${location.host}:${location.port} (${describeScope(location.scope)})`,
      declaredLocation(e, key, store),
      'Residency-guarded: at start and at every reconnect each resolved address is checked against the declared ' +
        'location (a public address also by offline geolocation); outside it no connection is opened, the ' +
        'appliance refuses to start or the reconnect fails, and the refusal is audited as residency_violation',
      ...(inside ? [] : [`${country} is OUTSIDE the allowed regions (residency.allowedRegions)`]),
    ],
  };
}

export const databaseLocation: Check = (e) => {
  const db = e.database;
  if (db.embedded)
    return {
      status: 'in_force',
      evidence: [`Embedded PostgreSQL (PGlite) on this machine's disk, in ${db.directory}`],
    };
  if (!db.location)
    return { status: 'not_verifiable', evidence: ['External PostgreSQL; DATABASE_URL could not be parsed'] };
  const check = guardedStore(e, 'database', 'External PostgreSQL', db.location);
  return {
    ...check,
    evidence: [
      ...check.evidence,
      'Encryption at rest of the database storage is not verifiable from the appliance',
    ],
  };
};

export const redisLocation: Check = (e) => {
  if (!e.redis)
    return {
      status: 'not_configured',
      evidence: [
        'Redis is not used (redis.url and REDIS_URL are not set); nothing is stored outside the database',
      ],
    };
  if (!e.redis.location) return { status: 'not_verifiable', evidence: ['Redis URL could not be parsed'] };
  return guardedStore(e, 'redis', 'Redis', e.redis.location);
};

function describeEgress(u: UpstreamConfig): string {
  if (!u.egress) return `${u.id}: no egress restriction declared (upstreams[].egress)`;
  const allowed = u.egress.allowed.join(', ') || 'nothing';
  return u.egress.defaultDeny
    ? `${u.id}: default-deny egress declared by the deployment; allowed: ${allowed}`
    : `${u.id}: egress not restricted (egress.defaultDeny: false)`;
}

export const backendEgress: Check = (e) => {
  const upstreams = [...e.file.upstreams].sort((a, b) => byText(a.id, b.id));
  const locked = upstreams.filter((u) => u.egress?.defaultDeny).length;
  const status =
    upstreams.length > 0 && locked === upstreams.length
      ? 'not_verifiable'
      : locked === 0
        ? 'not_configured'
        : 'partial';
  return {
    status,
    evidence: [
      ...upstreams.map(describeEgress),
      "Declared by the deployment (deploy/ renders each host's nftables rules from the inventory that also " +
        'writes this configuration), not verifiable from the appliance: the firewall runs on the inference server',
      'Independently of it, the appliance never asks an inference server to fetch anything (see the media URL measure)',
    ],
  };
};

/** One sentence per door, for the DPA's description of the processing. */
export function describeDataPlaces(e: ReportEvidence): string {
  const where = (key: 'database' | 'redis', location: ServiceLocation | undefined): string => {
    const store = e.file[key];
    const at = location ? `${location.host}:${location.port}` : 'an unparseable address';
    if (store.networks.length === 0) return `${at}, on this machine only`;
    const country = normaliseCountry(store.country ?? e.file.appliance.operator.country ?? '?');
    return `${at}, inside ${store.networks.join(', ')} in ${country}, checked at every connect`;
  };
  const db = e.database.embedded
    ? "the embedded database on the appliance's own disk"
    : `PostgreSQL at ${where('database', e.database.location)}`;
  const redis = e.redis
    ? `Shared rate-limit state and images requested as a URL: Redis at ${where('redis', e.redis.location)}`
    : 'Shared rate-limit state: not used (no Redis)';
  const media =
    e.file.media.remoteUrls === 'refuse'
      ? 'refused'
      : 'fetched by the appliance itself through the residency check, never by an inference server';
  const locked = e.file.upstreams.filter((u) => u.egress?.defaultDeny).length;
  return (
    `Keys (as hashes), usage metadata and the audit log: ${db}. ${redis}. ` +
    `Media referenced by URL: ${media}. Inference servers with default-deny egress as declared by the ` +
    `deployment: ${locked} of ${e.file.upstreams.length}.`
  );
}
