// The TOM report (GDPR Art. 32): every measure of the catalogue with the status and evidence read at
// generation time. Also the source of Annex III of the DPA and of Art. 30(2)(d) in the record of processing.
import { newDocument } from './document';
import type { MeasureStatus } from './measure-check';
import { evaluateMeasures, STATUS_LABELS, type MeasureResult } from './measures';
import type { ReportEvidence } from './report-evidence';
import { fields, list, paragraph, table, type ReportDocument, type ReportSection } from './report-model';

export function measureSummaryTable(measures: MeasureResult[]) {
  return table(
    ['No.', 'Measure', 'Control', 'Status'],
    measures.map((m, i) => [String(i + 1), m.title, m.control, STATUS_LABELS[m.status]]),
    'Evaluation of compliance/measures.json at generation time',
  );
}

function measureSection(m: MeasureResult, index: number): ReportSection {
  return {
    heading: `${index + 1}. ${m.title}`,
    blocks: [
      fields([
        { label: 'Control', value: m.control, basis: 'Catalogue' },
        {
          label: 'GDPR / SCC reference',
          value: `${m.article}; Annex III: ${m.annex_iii}`,
          basis: 'Catalogue',
        },
        { label: 'Measure', value: m.measure, basis: 'Catalogue (design of this product version)' },
        { label: 'Status', value: STATUS_LABELS[m.status], basis: 'The evidence below' },
      ]),
      paragraph('Evidence read at generation time:'),
      list(m.evidence, m.basis),
    ],
  };
}

const LEGEND: [MeasureStatus, string][] = [
  [
    'in_force',
    'The measure is on, and the evidence listed was read from the running system when this document was generated.',
  ],
  [
    'by_design',
    'A property of the software of this product version that no setting can turn off; the evidence names what it covers.',
  ],
  ['partial', 'The measure applies to some of the items listed and not to others; the evidence says which.'],
  ['not_in_force', 'The check was run and the measure is not in effect.'],
  ['not_configured', 'The configuration does not set the measure up.'],
  [
    'not_verifiable',
    'The measure lies outside the appliance (a proxy, a site, a process); the appliance cannot check it and claims nothing about it.',
  ],
];

export function buildTom(e: ReportEvidence): ReportDocument {
  const measures = evaluateMeasures(e);
  const { operator } = e.file.appliance;
  return newDocument(
    e,
    'tom',
    'Technical and organisational measures',
    `GDPR Art. 32; processor: ${operator.name}`,
    [
      {
        heading: 'Scope',
        blocks: [
          paragraph(
            `Measures taken by ${operator.name} (processor) for the AI gateway "${e.file.appliance.name}": ` +
              'the appliance relays requests to AI models on inference servers (upstreams) and returns the answers. ' +
              'Only measures the appliance can evidence are marked as in force.',
            'Configuration: appliance.name, appliance.operator.name',
          ),
        ],
      },
      { heading: 'Summary', blocks: [measureSummaryTable(measures)] },
      { heading: 'Measures', blocks: [], subsections: measures.map(measureSection) },
      {
        heading: 'Status legend',
        blocks: [
          table(
            ['Status', 'Meaning'],
            LEGEND.map(([status, meaning]) => [STATUS_LABELS[status], meaning]),
          ),
        ],
      },
    ],
  );
}
