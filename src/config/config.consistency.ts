// Checks that span several keys: references between upstreams and models, unique names, and residency.
import { expandRegions, isKnownRegion, normaliseCountry } from '../core/regions';
import type { HunzeConfigFile } from './config.schema';

/** Model names the gateway itself interprets; no model or alias may take them. */
const RESERVED_MODEL_NAMES = new Set(['auto']);

export function checkConsistency(file: HunzeConfigFile): string[] {
  return [
    ...checkUpstreams(file),
    ...checkModels(file),
    ...checkResidency(file),
    ...checkTelemetry(file),
    ...checkStoreCountries(file),
  ];
}

/**
 * The database and Redis may be elsewhere only inside their declared networks, and a public address there
 * must be in their country (the operator's when not declared), which must be an allowed region. Their
 * addresses are checked when they connect (residency/store-guard.ts) and by `hunze config check`.
 */
function checkStoreCountries(file: HunzeConfigFile): string[] {
  const problems: string[] = [];
  for (const store of ['database', 'redis'] as const) {
    const { networks, country: declared } = file[store];
    if (networks.length === 0 && declared === undefined) continue; // loopback only: the appliance itself
    const country = declared ?? file.appliance.operator.country;
    if (!country)
      problems.push(
        `${store}.country: required when ${store}.networks is set and the operator has no country`,
      );
    else if (!expandRegions(file.residency.allowedRegions).has(normaliseCountry(country)))
      problems.push(
        `${store}.country: residency violation: the ${store} is in ${normaliseCountry(country)}, ` +
          `outside the allowed regions (${file.residency.allowedRegions.join(', ')})`,
      );
  }
  return problems;
}

/** The OTLP collector is an outbound destination like an upstream: it must declare where it is. */
function checkTelemetry(file: HunzeConfigFile): string[] {
  const { otlpEndpoint, otlpNetworks, otlpCountry } = file.telemetry;
  if (!otlpEndpoint) return [];
  const problems: string[] = [];
  if (!otlpNetworks || otlpNetworks.length === 0)
    problems.push(
      "telemetry.otlpNetworks: required when telemetry.otlpEndpoint is set (the collector's CIDR ranges)",
    );
  const country = otlpCountry ?? file.appliance.operator.country;
  if (!country)
    problems.push(
      'telemetry.otlpCountry: required when telemetry.otlpEndpoint is set and the operator has no country',
    );
  else if (!expandRegions(file.residency.allowedRegions).has(normaliseCountry(country)))
    problems.push(
      `telemetry.otlpCountry: residency violation: the OTLP collector is in ${normaliseCountry(country)}, ` +
        `outside the allowed regions (${file.residency.allowedRegions.join(', ')})`,
    );
  return problems;
}

function checkUpstreams(file: HunzeConfigFile): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  file.upstreams.forEach((u, i) => {
    if (seen.has(u.id)) problems.push(`upstreams[${i}].id: duplicate upstream id "${u.id}"`);
    seen.add(u.id);
  });
  return problems;
}

function checkModels(file: HunzeConfigFile): string[] {
  const problems: string[] = [];
  const upstreamIds = new Set(file.upstreams.map((u) => u.id));
  const names = new Map<string, string>();
  file.models.forEach((m, i) => {
    m.upstreams.forEach((ref, j) => {
      if (!upstreamIds.has(ref)) problems.push(`models[${i}].upstreams[${j}]: no upstream with id "${ref}"`);
    });
    [m.id, ...m.aliases].forEach((name) => {
      if (RESERVED_MODEL_NAMES.has(name)) problems.push(`models[${i}]: "${name}" is reserved for routing`);
      const owner = names.get(name);
      if (owner !== undefined)
        problems.push(`models[${i}]: name "${name}" is already used by model "${owner}"`);
      names.set(name, m.id);
    });
  });
  return problems;
}

function checkResidency(file: HunzeConfigFile): string[] {
  const problems: string[] = [];
  file.residency.allowedRegions.forEach((entry, i) => {
    if (!isKnownRegion(entry)) problems.push(`residency.allowedRegions[${i}]: unknown region "${entry}"`);
  });
  const allowed = expandRegions(file.residency.allowedRegions);
  file.upstreams.forEach((u, i) => {
    const country = normaliseCountry(u.location.country);
    if (!allowed.has(country)) {
      problems.push(
        `upstreams[${i}].location.country: residency violation: upstream "${u.id}" is in ${country}, ` +
          `outside the allowed regions (${file.residency.allowedRegions.join(', ')})`,
      );
    }
  });
  return problems;
}
