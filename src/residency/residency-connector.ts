// The undici connector that enforces residency at connect time: resolve the upstream's host once (all
// addresses), check every address (residency-guard.ts), then open the socket to exactly the checked address
// (an IP literal, so nothing resolves it again between check and connect). TLS (https) verifies the
// certificate and sends SNI for the original host name, or for the configured server name, never for the
// pinned address; with a CA given, only that CA is trusted. Verification cannot be turned off.
// A refusal opens no socket, so not a byte reaches the upstream; it fails the request with
// ResidencyViolationError, which the relay maps to 503 `residency_violation`.
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { buildConnector } from 'undici';
import { passedChecks } from './passed-checks';
import {
  checkAddresses,
  geoipCountry,
  type GeoLookup,
  type ResidencyPolicy,
  type ResidencyReason,
} from './residency-guard';

export class ResidencyViolationError extends Error {
  readonly code = 'HUNZE_RESIDENCY';
  constructor(
    readonly upstream: string,
    readonly reason: ResidencyReason,
  ) {
    super(`residency check refused upstream ${upstream}: ${reason}`);
    this.name = 'ResidencyViolationError';
  }
}

/** Metadata of one refusal: our own config's data (upstream id, the resolved address), never user content. */
export interface ResidencyViolation {
  upstream: string;
  reason: ResidencyReason;
  family?: 4 | 6;
  address?: string;
}

/** dns.promises.lookup with `all: true`: every address of the host. Tests inject their own. */
export type Resolver = (
  hostname: string,
  options: { all: true },
) => Promise<readonly { address: string; family: number }[]>;

export interface ResidencyHooks {
  resolve?: Resolver;
  geo?: GeoLookup;
  /** Every refusal (log it, audit it). */
  onViolation?: (violation: ResidencyViolation) => void;
  /** Every passed check (a connection is about to be opened to `address`). */
  onPass?: (address: string) => void;
}

/**
 * Process-wide subscription point for refusals, for the audit log (which records residency violations) and
 * anything else that must hear of them. UpstreamPools publishes every refusal here.
 */
export class ResidencyEvents {
  private readonly listeners = new Set<(violation: ResidencyViolation) => void>();

  /** Returns the unsubscribe function. */
  subscribe(listener: (violation: ResidencyViolation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(violation: ResidencyViolation): void {
    for (const listener of this.listeners) {
      try {
        listener(violation);
      } catch {
        // a failing subscriber must not turn a refusal into a different error
      }
    }
  }
}

export const residencyEvents = new ResidencyEvents();

/** TLS to an https destination; ignored for http. */
export interface DestinationTls {
  /** PEM text of the CA certificate(s) to trust instead of the system store. */
  ca?: string;
  /** The name sent as SNI and required in the certificate; the URL's host when absent. */
  serverName?: string;
}

/**
 * TLS options for undici's connector: verification always on, the CA (when given) replacing the system
 * store, and the certificate checked against the expected name rather than the pinned address undici
 * connects to. An IP literal is never sent as SNI (RFC 6066); the certificate must then name that IP.
 */
function tlsOptions({ ca, serverName }: DestinationTls): Record<string, unknown> {
  return {
    rejectUnauthorized: true,
    ...(ca === undefined ? {} : { ca }),
    ...(serverName === undefined
      ? {}
      : {
          checkServerIdentity: (_host: string, cert: PeerCertificate) =>
            checkServerIdentity(serverName, cert),
        }),
  };
}

export function residencyConnector(
  upstream: ResidencyPolicy & { id: string },
  options: { timeout: number; tls?: DestinationTls } & ResidencyHooks,
): buildConnector.connector {
  const inner = buildConnector({ timeout: options.timeout, ...tlsOptions(options.tls ?? {}) });
  const resolve: Resolver = options.resolve ?? ((host, opts) => dnsLookup(host, opts));
  const geo = options.geo ?? geoipCountry;
  return (opts, callback) => {
    const host = opts.hostname.replace(/^\[(.*)\]$/, '$1');
    const addresses: Promise<readonly string[]> =
      isIP(host) !== 0
        ? Promise.resolve([host]) // an IP literal needs no lookup but is checked all the same
        : resolve(host, { all: true }).then((list) => list.map((a) => a.address));
    addresses.then(
      (list) => {
        const verdict = checkAddresses(upstream, list, geo);
        if (!verdict.allowed) {
          const { reason, family, address } = verdict;
          options.onViolation?.({ upstream: upstream.id, reason, family, address });
          callback(new ResidencyViolationError(upstream.id, reason), null);
          return;
        }
        options.onPass?.(verdict.address);
        const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80);
        passedChecks.publish({ destination: upstream.id, address: verdict.address, port });
        // SNI and the name checked: the configured server name, else the URL's host (never the pinned IP).
        const expected = options.tls?.serverName ?? host;
        // An IP is never sent as SNI: undici would derive one from `host`, so it gets the pinned address too.
        const sni = isIP(expected) === 0 ? { servername: expected } : { host: verdict.address };
        inner({ ...opts, ...sni, hostname: verdict.address }, callback);
      },
      (err: Error) => callback(err, null),
    );
  };
}
