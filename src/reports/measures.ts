// The technical and organisational measures (GDPR Art. 32), each evaluated against the evidence read at
// generation time. The catalogue (texts) is compliance/measures.json; the checks are here, one per entry.
// A check states what it read; a measure that is not in force, or that the appliance cannot see, says so.
// Over 300 lines on purpose: twenty short checks kept together so they are reviewed against the catalogue
// (those on media, stores and the inference servers' egress are in measures-outbound.ts).
import { describeBreak, AUDIT_ACTIONS } from '../audit/audit-chain';
import type { UpstreamConfig } from '../config/config.schema';
import { RECORD_FIELD_NAMES } from '../core/request-record';
import { expandRegions, normaliseCountry } from '../core/regions';
import type { MeasureCheck, MeasureStatus } from './measure-check';
import { byText, formatSite } from './processing';
import { backendEgress, databaseLocation, mediaUrls, redisLocation } from './measures-outbound';
import { measuresCatalogue, type MeasureEntry } from './report-data';
import { imagesHeldIn, type ReportEvidence } from './report-evidence';
import { describeScope, hostScope } from './service-location';

export const STATUS_LABELS: Record<MeasureStatus, string> = {
  in_force: 'In force (checked at generation time)',
  partial: 'Partly in force',
  not_in_force: 'Not in force',
  not_configured: 'Not configured',
  not_verifiable: 'Not verifiable from the appliance',
  by_design: 'In force by design of this product version',
};

export interface MeasureResult extends MeasureEntry, MeasureCheck {}

type Check = (e: ReportEvidence) => MeasureCheck;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** in_force when every item passes, not_in_force when none does, partial between. */
function share(passed: number, total: number): MeasureStatus {
  if (total > 0 && passed === total) return 'in_force';
  return passed === 0 ? 'not_in_force' : 'partial';
}

const systemAccess: Check = (e) => {
  const total = e.accounts.reduce((n, a) => n + a.active, 0);
  return {
    status: 'in_force',
    evidence: [
      `${plural(total, 'active key')} in ${plural(e.accounts.filter((a) => a.active > 0).length, 'account')}`,
      `Break-glass admin key (auth.adminKey): ${e.adminKeyConfigured ? 'configured (its value is never stored)' : 'not configured'}`,
      'Routes without a declared role are refused; routes without a key: /healthz, /readyz' +
        (e.file.telemetry.prometheus ? ', /metrics (telemetry.prometheus: true)' : ''),
    ],
  };
};

const PLAIN_KEY_COLUMN = /^(key|api_key|secret|token|plain_?key|raw_?key)$/;

const keyHashing: Check = (e) => {
  const hash = e.keyColumns.find((c) => c.name === 'key_hash');
  const plain = e.keyColumns.filter((c) => PLAIN_KEY_COLUMN.test(c.name)).map((c) => c.name);
  const hashOk = hash !== undefined && hash.length === 64;
  const evidence = [
    `Columns of api_keys: ${e.keyColumns.map((c) => c.name).join(', ') || 'none found'}`,
    hash
      ? `key_hash: ${hash.type}${hash.length === null ? '' : `(${hash.length})`}, the length of a hex SHA-256 digest`
      : 'No key_hash column found',
    plain.length
      ? `Column that could hold a key: ${plain.join(', ')}`
      : 'No column that could hold a key itself',
  ];
  return { status: hashOk && plain.length === 0 ? 'in_force' : 'not_in_force', evidence };
};

const dataAccess: Check = (e) => {
  const sum = (pick: (a: ReportEvidence['accounts'][number]) => number) =>
    e.accounts.reduce((n, a) => n + pick(a), 0);
  const active = sum((a) => a.active);
  return {
    status: 'in_force',
    evidence: [
      `Active keys by role: admin ${sum((a) => a.admin)}, dpo ${sum((a) => a.dpo)}, user ${sum((a) => a.user)}`,
      `Active keys limited to listed models: ${sum((a) => a.modelLimited)} of ${active}`,
    ],
  };
};

const clientTls: Check = (e) => {
  const { host, port } = e.file.server;
  const everywhere = host === '0.0.0.0' || host === '::';
  const where = everywhere ? 'every network interface' : describeScope(hostScope(host));
  return {
    status: 'not_verifiable',
    evidence: [
      `The appliance listens with plain HTTP (no TLS of its own) on ${host}:${port} (${where})`,
      'TLS termination by the reverse proxy in front of it is not verifiable from the appliance; ' +
        "evidence must come from the proxy's configuration",
    ],
  };
};

const isHttps = (u: UpstreamConfig): boolean => u.baseUrl.toLowerCase().startsWith('https:');

/** How an https upstream's certificate is checked: which CA, which name (never turned off). */
function describeTls(u: UpstreamConfig): string {
  const trust = u.tls?.ca ? `the CA in ${u.tls.ca} (tls.ca)` : "the system's trusted CAs";
  const name = u.tls?.serverName ?? new URL(u.baseUrl).hostname;
  return `${u.id}: https, certificate verified against ${trust} for the name ${name}`;
}

const upstreamTls: Check = (e) => {
  const upstreams = [...e.file.upstreams].sort((a, b) => byText(a.id, b.id));
  const tls = upstreams.filter(isHttps);
  return {
    status: share(tls.length, upstreams.length),
    evidence: [
      `${tls.length} of ${plural(upstreams.length, 'upstream')} reached over TLS`,
      ...upstreams.map((u) =>
        isHttps(u)
          ? describeTls(u)
          : `${u.id}: plain HTTP, not encrypted; confined to the declared networks ${u.networks.join(', ')}`,
      ),
      ...(tls.length > 0
        ? [
            'Certificate verification has no switch: a certificate that fails it ends the connection before a request byte is sent',
          ]
        : []),
    ],
  };
};

const residency: Check = (e) => {
  const allowed = expandRegions(e.file.residency.allowedRegions);
  const upstreams = [...e.file.upstreams].sort((a, b) => byText(a.id, b.id));
  const inside = upstreams.filter((u) => allowed.has(normaliseCountry(u.location.country)));
  return {
    status: upstreams.length === 0 ? 'in_force' : share(inside.length, upstreams.length),
    evidence: [
      `Allowed regions (residency.allowedRegions): ${e.file.residency.allowedRegions.join(', ')} ` +
        `(${allowed.size} countries: ${[...allowed].sort(byText).join(' ')})`,
      ...upstreams.map((u) => {
        const country = normaliseCountry(u.location.country);
        const verdict = allowed.has(country) ? 'inside the allowed regions' : 'OUTSIDE the allowed regions';
        return `${u.id}: ${country}, ${verdict}; networks ${u.networks.join(', ')}`;
      }),
      'Refused connections are recorded in the audit log as residency.violation',
    ],
  };
};

const telemetryExport: Check = (e) => {
  const t = e.file.telemetry;
  const evidence: string[] = [];
  if (!t.otlpEndpoint) evidence.push('No traces or metrics are exported (telemetry.otlpEndpoint is not set)');
  else {
    let host = 'unparseable endpoint';
    try {
      host = new URL(t.otlpEndpoint).hostname;
    } catch {
      // stays unparseable; the configuration check would normally have refused it
    }
    const country = normaliseCountry(t.otlpCountry ?? e.file.appliance.operator.country ?? '?');
    evidence.push(
      `Traces and metrics go to the OTLP collector at ${host} (${describeScope(hostScope(host))}), ` +
        `declared in ${country}, networks ${(t.otlpNetworks ?? []).join(', ') || 'none'}; attributes allowlisted`,
    );
  }
  evidence.push(
    t.prometheus
      ? 'GET /metrics serves aggregate counters without a key (telemetry.prometheus: true)'
      : 'GET /metrics is off (telemetry.prometheus: false)',
  );
  return { status: 'in_force', evidence };
};

const metadataOnly: Check = () => ({
  status: 'by_design',
  evidence: [`Per-request fields that can be logged, traced or stored: ${RECORD_FIELD_NAMES.join(', ')}`],
});

const auditLog: Check = (e) => {
  const a = e.audit;
  const from = `from seq ${a.anchor_seq + 1}${a.anchor_seq > 0 ? ' (older rows pruned by retention)' : ''}`;
  return {
    status: a.valid ? 'in_force' : 'not_in_force',
    evidence: [
      a.valid
        ? `Chain verified at generation time: intact, ${plural(a.checked, 'row')} checked ${from}`
        : `Chain verified at generation time: BROKEN at ${a.firstBroken ? describeBreak(a.firstBroken) : 'an unknown row'}`,
      `Recorded actions: ${AUDIT_ACTIONS.join(', ')}`,
    ],
  };
};

const configuration: Check = (e) => ({
  status: 'in_force',
  evidence: [
    `Configuration fingerprint ${e.fingerprint}, loaded from ${e.sourcePath}`,
    'Each start records config.loaded with this fingerprint in the audit log',
  ],
});

const redundancy: Check = (e) => {
  const models = [...e.file.models].sort((a, b) => byText(a.id, b.id));
  return {
    status: share(models.filter((m) => m.upstreams.length > 1).length, models.length),
    evidence: models.map(
      (m) => `${m.id}: ${plural(m.upstreams.length, 'upstream')} (${m.upstreams.join(', ')})`,
    ),
  };
};

const healthChecks: Check = (e) => {
  const upstreams = [...e.file.upstreams].sort((a, b) => byText(a.id, b.id));
  const probed = upstreams.filter((u) => u.healthCheck.intervalSeconds > 0);
  return {
    status:
      upstreams.length === 0 ? 'not_configured' : probed.length === upstreams.length ? 'in_force' : 'partial',
    evidence: upstreams.map((u) => {
      const probe =
        u.healthCheck.intervalSeconds > 0
          ? `probed every ${u.healthCheck.intervalSeconds} s at ${u.healthCheck.path}`
          : 'active health check off';
      return `${u.id}: ${probe}; circuit opens after ${u.circuitBreaker.failures} failures for ${u.circuitBreaker.openSeconds} s`;
    }),
  };
};

const backups: Check = () => ({
  status: 'not_configured',
  evidence: [
    'The appliance configuration has no backup setting; backups and restore tests, if made, happen outside the appliance and are not evidenced here',
    'Prompts, completions, audio and images are not stored, so they are not in any backup of the appliance',
  ],
});

const cachedModels = (e: ReportEvidence) =>
  [...e.file.models].filter((m) => m.cache.ttlSeconds > 0).sort((a, b) => byText(a.id, b.id));

const tenantSeparation: Check = (e) => {
  const cached = cachedModels(e);
  return {
    status: 'by_design',
    evidence: [
      cached.length
        ? `Response cache on for: ${cached.map((m) => m.id).join(', ')}; entries keyed by account`
        : 'Response cache off for every model (models[].cache.ttlSeconds is 0)',
      'Images kept for download are bound to the account that generated them',
    ],
  };
};

const retention: Check = (e) => {
  const r = e.file.retention;
  const cached = cachedModels(e);
  return {
    status: 'in_force',
    evidence: [
      'Prompts, completions, audio, transcripts and embeddings: not stored',
      `Usage records (request metadata): ${plural(r.usageDays, 'day')} (retention.usageDays)`,
      `Audit events: ${plural(r.auditDays, 'day')} (retention.auditDays), pruned hourly`,
      `Generated images requested as a URL: ${plural(r.imageMinutes, 'minute')} in ${imagesHeldIn(e)}, never on disk (retention.imageMinutes)`,
      ...cached.map(
        (m) => `Cached answers of ${m.id}: ${plural(m.cache.ttlSeconds, 'second')} in memory only`,
      ),
    ],
  };
};

const processingLocations: Check = (e) => ({
  status: 'not_verifiable',
  evidence: [
    ...e.file.upstreams
      .map((u) => `${formatSite(u.location)}: ${u.id}, operated by ${u.operator.name}`)
      .sort(byText),
    "Physical admission control at these sites is the site operator's and is not verifiable from the appliance",
  ],
});

const breachContact: Check = (e) => {
  const { dpo, operator } = e.file.appliance;
  return {
    status: dpo ? 'in_force' : 'not_configured',
    evidence: [
      dpo
        ? `Data protection officer: ${dpo.name}, ${dpo.email}`
        : 'No data protection officer configured (appliance.dpo)',
      operator.contact ? `Operator contact: ${operator.contact}` : 'No operator contact configured',
    ],
  };
};

const testing: Check = () => ({
  status: 'not_verifiable',
  evidence: [
    'The configuration, residency included, was validated when the appliance started; the checks in this report ran at generation time',
    'Penetration tests, restore tests and audits are not recorded by the appliance',
  ],
});

export const MEASURE_CHECKS: Readonly<Record<string, Check>> = {
  'system-access-keys': systemAccess,
  'key-hashing': keyHashing,
  'data-access-roles': dataAccess,
  'client-tls': clientTls,
  'upstream-tls': upstreamTls,
  residency,
  'telemetry-export': telemetryExport,
  'media-urls': mediaUrls,
  'backend-egress': backendEgress,
  'metadata-only': metadataOnly,
  'audit-log': auditLog,
  configuration,
  redundancy,
  'health-checks': healthChecks,
  backups,
  'database-location': databaseLocation,
  'redis-location': redisLocation,
  'tenant-separation': tenantSeparation,
  retention,
  'processing-locations': processingLocations,
  'breach-contact': breachContact,
  testing,
};

/** Every catalogue measure with its status and evidence, in catalogue order. */
export function evaluateMeasures(evidence: ReportEvidence): MeasureResult[] {
  return measuresCatalogue.measures.map((entry) => {
    const check = MEASURE_CHECKS[entry.id];
    if (!check) throw new Error(`compliance/measures.json: no check for measure ${entry.id}`);
    return { ...entry, ...check(evidence) };
  });
}
