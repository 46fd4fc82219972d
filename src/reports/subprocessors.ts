// The sub-processor list: one row per distinct operator of upstreams (name and country), with its address,
// sites, models, data categories and the transfer mechanism each location needs. Upstreams the processor
// runs itself are listed apart. Also the source of Annex IV of the DPA.
import { newDocument } from './document';
import { groupOperators, transferSummary, type OperatorGroup } from './processing';
import { adequacyList } from './report-data';
import type { ReportEvidence } from './report-evidence';
import {
  blank,
  fields,
  paragraph,
  table,
  type ReportBlock,
  type ReportDocument,
  type ReportSection,
} from './report-model';
import { describeScope, hostScope } from './service-location';

const BASIS_OPERATOR = 'Configuration: upstreams[].operator';
const BASIS_SITES = 'Configuration: upstreams[].location';
const BASIS_MODELS = 'Configuration: models[].upstreams and models[].kind';
const BASIS_TRANSFER = `Countries of upstreams[].location against compliance/regions.json (EEA) and compliance/adequacy.json (${adequacyList.date})`;

const orNone = (values: string[], none: string, separator = '; '): string =>
  values.length ? values.join(separator) : none;

function operatorName(g: OperatorGroup): string {
  return g.country ? `${g.name} (${g.country})` : g.name;
}

export function subprocessorTable(groups: OperatorGroup[]): ReportBlock {
  return table(
    ['No.', 'Sub-processor', 'Address and contact', 'Sites', 'Models and data', 'Transfer mechanism'],
    groups.map((g, i) => [
      String(i + 1),
      operatorName(g),
      orNone([...g.addresses, ...g.contacts], blank('address and contact person: not in the configuration')),
      g.sites.join('; '),
      `${g.models.join(', ')}: ${g.dataCategories.join('; ')}`,
      transferSummary(g).join('; '),
    ]),
    `${BASIS_OPERATOR}; ${BASIS_SITES}; ${BASIS_MODELS}; ${BASIS_TRANSFER}`,
  );
}

function operatorSection(g: OperatorGroup): ReportSection {
  return {
    heading: operatorName(g),
    blocks: [
      fields([
        { label: 'Name', value: g.name, basis: BASIS_OPERATOR },
        {
          label: 'Country of establishment',
          value: g.country ?? blank('not in the configuration'),
          basis: BASIS_OPERATOR,
        },
        {
          label: 'Address',
          value: orNone(g.addresses, blank('not in the configuration')),
          basis: BASIS_OPERATOR,
        },
        {
          label: 'Contact',
          value: orNone(g.contacts, blank('contact person, position and contact details')),
          basis: BASIS_OPERATOR,
        },
        { label: 'Upstreams', value: g.upstreams.join(', '), basis: 'Configuration: upstreams[].id' },
        { label: 'Sites', value: g.sites.join('; '), basis: BASIS_SITES },
        { label: 'Countries of processing', value: g.countries.join(', '), basis: BASIS_SITES },
        {
          label: 'Models',
          value: orNone(g.models, 'none (no model routes to these upstreams)', ', '),
          basis: BASIS_MODELS,
        },
        { label: 'Data categories', value: orNone(g.dataCategories, 'none'), basis: BASIS_MODELS },
        { label: 'Transfer mechanism', value: transferSummary(g).join('; '), basis: BASIS_TRANSFER },
      ]),
    ],
  };
}

/** Services the appliance connects to whose operator the configuration does not name. */
export function otherServicesBlock(e: ReportEvidence): ReportBlock {
  const db = e.database;
  const database = db.embedded
    ? 'Embedded, on the appliance itself'
    : db.location
      ? `${db.location.host}:${db.location.port} (${describeScope(db.location.scope)})`
      : 'External; DATABASE_URL not parseable';
  const redis = !e.redis
    ? 'Not used'
    : e.redis.location
      ? `${e.redis.location.host}:${e.redis.location.port} (${describeScope(e.redis.location.scope)})`
      : 'Configured; URL not parseable';
  let collector = 'Not used';
  const endpoint = e.file.telemetry.otlpEndpoint;
  if (endpoint) {
    const host = URL.canParse(endpoint) ? new URL(endpoint).hostname : 'unparseable endpoint';
    collector = `${host} (${describeScope(hostScope(host))})`;
  }
  return fields([
    {
      label: 'PostgreSQL database (keys, usage metadata, audit log)',
      value: database,
      basis: 'Environment: DATABASE_URL (host and port only)',
    },
    {
      label: 'Redis (key-change notifications, rate-limit counters)',
      value: redis,
      basis: 'Configuration: redis.url / environment: REDIS_URL (host and port only)',
    },
    {
      label: 'OTLP collector (traces and metrics, metadata only)',
      value: collector,
      basis: 'Configuration: telemetry.otlpEndpoint',
    },
  ]);
}

export function buildSubprocessors(e: ReportEvidence): ReportDocument {
  const groups = groupOperators(e.file);
  const external = groups.filter((g) => !g.isProcessor);
  const own = groups.filter((g) => g.isProcessor);
  const flagged = external.flatMap((g) => g.transfers).filter((t) => t.kind !== 'eea');
  return newDocument(
    e,
    'subprocessors',
    'List of sub-processors',
    `Processor: ${e.file.appliance.operator.name}`,
    [
      {
        heading: 'Scope',
        blocks: [
          paragraph(
            'One entry per distinct operator (name and country) of the inference servers (upstreams) the ' +
              'appliance sends requests to. Upstreams operated by the processor itself ' +
              `(${e.file.appliance.operator.name}, appliance.operator) are not sub-processors and are listed separately. ` +
              'Datacentre operators, support providers or others with access to the data are not part of the ' +
              'configuration; add them by hand.',
            'Configuration: appliance.operator, upstreams[].operator',
          ),
        ],
      },
      {
        heading: 'Sub-processors',
        blocks: external.length
          ? [subprocessorTable(external)]
          : [
              paragraph(
                'According to the configuration, no upstream is operated by a third party.',
                BASIS_OPERATOR,
              ),
            ],
        subsections: external.map(operatorSection),
      },
      {
        heading: 'Transfers to third countries',
        blocks: [
          flagged.length
            ? paragraph(
                `FLAGGED: ${flagged.length} location(s) outside the EEA; see the transfer mechanism of each entry.`,
                BASIS_TRANSFER,
              )
            : paragraph('None: every sub-processor location is inside the EEA.', BASIS_TRANSFER),
        ],
      },
      {
        heading: 'Upstreams operated by the processor itself',
        blocks: own.length ? [] : [paragraph('None.', BASIS_OPERATOR)],
        subsections: own.map(operatorSection),
      },
      {
        heading: 'Other services the appliance connects to',
        blocks: [
          paragraph(
            'Their operators are not named in the configuration. If a third party runs one of them with access ' +
              'to the data it holds, it is a sub-processor and must be added to this list by hand.',
          ),
          otherServicesBlock(e),
        ],
      },
    ],
  );
}
