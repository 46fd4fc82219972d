import type { ModelConfig } from '../../config/config.schema';
import type { UpstreamTarget } from '../../upstream/upstream-target';

/**
 * One upstream as `GET /admin/v1/upstreams` lists it: where it is and who runs it (from the configuration),
 * whether it takes requests, and the latest residency check of a new connection to it. Never its base URL's
 * credentials or api key.
 */
export interface UpstreamStatusDto {
  object: 'upstream';
  id: string;
  /** Canonical ids of the models it serves, and their kinds. */
  models: string[];
  kinds: ModelConfig['kind'][];
  location: { country: string; city: string | null; site: string | null };
  operator: { name: string; country: string | null; address: string | null };
  networks: string[];
  hardware: string | null;
  available: boolean;
  circuit: UpstreamTarget['circuitState'];
  health: { healthy: boolean; checked_at: string | null };
  residency: {
    /** `unchecked`: no connection was opened since the start (connections are kept alive and reused). */
    status: 'passed' | 'refused' | 'unchecked';
    checked_at: string | null;
    address: string | null;
    reason: string | null;
  };
}

export function toUpstreamStatus(target: UpstreamTarget, models: readonly ModelConfig[]): UpstreamStatusDto {
  const { config } = target;
  const served = models.filter((m) => m.upstreams.includes(config.id));
  const check = target.residencyCheck;
  return {
    object: 'upstream',
    id: config.id,
    models: served.map((m) => m.id),
    kinds: [...new Set(served.map((m) => m.kind))],
    location: {
      country: config.location.country,
      city: config.location.city ?? null,
      site: config.location.site ?? null,
    },
    operator: {
      name: config.operator.name,
      country: config.operator.country ?? null,
      address: config.operator.address ?? null,
    },
    networks: [...config.networks],
    hardware: config.hardware ?? null,
    available: target.available,
    circuit: target.circuitState,
    health: { healthy: target.probeHealthy, checked_at: target.lastProbeAt?.toISOString() ?? null },
    residency: {
      status: check === null ? 'unchecked' : check.passed ? 'passed' : 'refused',
      checked_at: check?.at.toISOString() ?? null,
      address: check?.address ?? null,
      reason: check?.reason ?? null,
    },
  };
}
