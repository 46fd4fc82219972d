// The processor's record of processing activities, GDPR Art. 30(2) points (a) to (d), with the retention
// periods of Annex II added (a processor's record need not have them; they help the reader).
import { newDocument } from './document';
import { evaluateMeasures, STATUS_LABELS } from './measures';
import {
  assessCountry,
  configuredKinds,
  isEea,
  groupOperators,
  KIND_PROCESSING,
  METADATA_CATEGORY,
  modelsOfKind,
  transferSummary,
} from './processing';
import { imagesHeldIn, type ReportEvidence } from './report-evidence';
import { blank, fields, paragraph, table, type ReportDocument, type ReportSection } from './report-model';
import { otherServicesBlock } from './subprocessors';

function pointA(e: ReportEvidence): ReportSection {
  const { operator, dpo } = e.file.appliance;
  return {
    heading: '(a) Name and contact details',
    blocks: [
      fields([
        { label: 'Processor', value: operator.name, basis: 'Configuration: appliance.operator.name' },
        {
          label: 'Processor address',
          value: [operator.address, operator.country].filter(Boolean).join(', ') || blank('address'),
          basis: 'Configuration: appliance.operator.address, appliance.operator.country',
        },
        {
          label: 'Processor contact',
          value: operator.contact ?? blank('contact'),
          basis: 'Configuration: appliance.operator.contact',
        },
        {
          label: 'Data protection officer',
          value: dpo ? `${dpo.name}, ${dpo.email}` : blank('not configured (appliance.dpo)'),
          basis: 'Configuration: appliance.dpo',
        },
        {
          label: 'Controller(s) on whose behalf the processor acts',
          value: blank('name and contact details of each controller'),
          basis: 'To be completed by the processor',
        },
        {
          label: 'Representatives (Art. 27), where applicable',
          value: blank('name and contact details, or none'),
          basis: 'To be completed by the processor',
        },
      ]),
      paragraph(
        'Accounts on the appliance: each groups the keys of one client; map each account to the controller it serves.',
        'Database: api_keys and accounts at generation time (active keys: neither revoked nor expired)',
      ),
      e.accounts.length
        ? table(
            ['Account', 'Active keys', 'admin', 'dpo', 'user', 'Controller'],
            e.accounts.map((a) => [
              a.account,
              String(a.active),
              String(a.admin),
              String(a.dpo),
              String(a.user),
              blank('controller'),
            ]),
          )
        : paragraph('No keys have been issued.'),
    ],
  };
}

function pointB(e: ReportEvidence): ReportSection {
  return {
    heading: '(b) Categories of processing carried out on behalf of each controller',
    blocks: [
      table(
        ['Processing', 'Models', 'Personal data concerned'],
        [
          ...configuredKinds(e.file).map((k) => [
            KIND_PROCESSING[k].processing,
            modelsOfKind(e.file, k).join(', '),
            KIND_PROCESSING[k].data,
          ]),
          ['Metering and audit of requests', 'all', METADATA_CATEGORY],
        ],
        'Configuration: models[].kind and models[].id; metadata allowlist of this product version',
      ),
      fields([
        {
          label: 'Retention',
          value:
            `Content: not stored. Usage metadata: ${e.file.retention.usageDays} days. Audit events: ` +
            `${e.file.retention.auditDays} days. Images requested as a URL: ${e.file.retention.imageMinutes} minutes in ${imagesHeldIn(e)}.`,
          basis: 'Configuration: retention',
        },
      ]),
    ],
  };
}

/** The OTLP collector receives metadata only, but key ids and account names can be personal data. */
function collectorTransfer(e: ReportEvidence): string[][] {
  const t = e.file.telemetry;
  const country = t.otlpCountry ?? e.file.appliance.operator.country;
  if (!t.otlpEndpoint || !country || isEea(country)) return [];
  return [['OTLP collector (telemetry.otlpEndpoint; metadata only)', assessCountry(country).text]];
}

function pointC(e: ReportEvidence): ReportSection {
  const groups = groupOperators(e.file);
  const flagged = [
    ...groups
      .filter((g) => g.transfers.some((t) => t.kind !== 'eea'))
      .map((g) => [g.name, transferSummary(g).join('; ')]),
    ...collectorTransfer(e),
  ];
  const countries = [...new Set(groups.flatMap((g) => g.countries))].sort();
  return {
    heading: '(c) Transfers of personal data to a third country or an international organisation',
    blocks: [
      flagged.length
        ? table(
            ['Recipient', 'Transfer'],
            flagged,
            'Configuration: upstreams[].location, upstreams[].operator, telemetry; compliance/regions.json; compliance/adequacy.json',
          )
        : paragraph(
            `None: every upstream is located inside the EEA (${countries.join(', ') || 'no upstreams'}).`,
            'Configuration: upstreams[].location.country and telemetry.otlpCountry against compliance/regions.json',
          ),
      paragraph(
        'The appliance sends request content only to upstreams in the allowed regions ' +
          `(residency.allowedRegions: ${e.file.residency.allowedRegions.join(', ')}), checked at every connection. ` +
          'Documentation of suitable safeguards for transfers under the second subparagraph of Art. 49(1): ' +
          blank('none, or the documentation'),
        'Configuration: residency.allowedRegions',
      ),
      paragraph(
        'Other services the appliance connects to, as configured (their operators are not declared):',
      ),
      otherServicesBlock(e),
    ],
  };
}

function pointD(e: ReportEvidence): ReportSection {
  const measures = evaluateMeasures(e);
  return {
    heading: '(d) General description of the technical and organisational security measures (Art. 32(1))',
    blocks: [
      paragraph(
        'Summary of the TOM document generated from the same configuration; the evidence of each measure is stated there.',
      ),
      table(
        ['Measure', 'Control', 'Status'],
        measures.map((m) => [m.title, m.control, STATUS_LABELS[m.status]]),
        'Evaluation of compliance/measures.json at generation time',
      ),
    ],
  };
}

export function buildRopa(e: ReportEvidence): ReportDocument {
  return newDocument(
    e,
    'ropa',
    'Record of processing activities',
    `Processor's record, GDPR Art. 30(2); processor: ${e.file.appliance.operator.name}`,
    [pointA(e), pointB(e), pointC(e), pointD(e)],
  );
}
