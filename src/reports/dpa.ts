// The data processing agreement following the controller-processor clauses of Decision (EU) 2021/915:
// the clause headings with the options taken (the clause text is inserted verbatim from EUR-Lex), and
// Annexes I-IV filled from the configuration: parties, description of the processing, the measures and
// the sub-processors.
import { newDocument } from './document';
import { evaluateMeasures, STATUS_LABELS } from './measures';
import { describeDataPlaces } from './measures-outbound';
import {
  configuredKinds,
  groupOperators,
  KIND_PROCESSING,
  METADATA_CATEGORY,
  modelsOfKind,
} from './processing';
import { sccClauses } from './report-data';
import { imagesHeldIn, type ReportEvidence } from './report-evidence';
import {
  blank,
  fields,
  list,
  paragraph,
  table,
  type ReportDocument,
  type ReportSection,
} from './report-model';
import { subprocessorTable } from './subprocessors';

function clausesSection(): ReportSection {
  return {
    heading: 'Standard contractual clauses',
    blocks: [
      paragraph(
        'The parties agree to the standard contractual clauses in the Annex to Commission Implementing ' +
          'Decision (EU) 2021/915. Their text is inserted verbatim from the Official Journal; it is not ' +
          'reproduced or modified here (Clause 2). This section lists the clauses and the options chosen.',
        `compliance/scc-clauses.json: ${sccClauses.source}`,
      ),
    ],
    subsections: sccClauses.sections.map((s) => ({
      heading: s.heading,
      blocks: [
        table(
          ['Clause', 'Heading', 'Option or completion'],
          s.clauses.map((c) => [c.number, c.title, c.choice ?? '']),
        ),
      ],
    })),
  };
}

function annexI(e: ReportEvidence): ReportSection {
  const { operator, dpo } = e.file.appliance;
  const toFill = 'To be completed by the controller';
  return {
    heading: 'Annex I – List of parties',
    blocks: [],
    subsections: [
      {
        heading: 'Controller(s)',
        blocks: [
          fields([
            { label: 'Name', value: blank('name'), basis: toFill },
            { label: 'Address', value: blank('address'), basis: toFill },
            {
              label: "Contact person's name, position and contact details",
              value: blank('contact person'),
              basis: toFill,
            },
            {
              label: 'Data protection officer (where applicable)',
              value: blank('name and contact details'),
              basis: toFill,
            },
            { label: 'Signature and accession date', value: blank('signature and date'), basis: toFill },
          ]),
        ],
      },
      {
        heading: 'Processor(s)',
        blocks: [
          fields([
            { label: 'Name', value: operator.name, basis: 'Configuration: appliance.operator.name' },
            {
              label: 'Address',
              value: [operator.address, operator.country].filter(Boolean).join(', ') || blank('address'),
              basis: 'Configuration: appliance.operator.address, appliance.operator.country',
            },
            {
              label: "Contact person's name, position and contact details",
              value: operator.contact ?? blank('contact person'),
              basis: 'Configuration: appliance.operator.contact',
            },
            {
              label: 'Data protection officer',
              value: dpo ? `${dpo.name}, ${dpo.email}` : blank('not configured (appliance.dpo)'),
              basis: 'Configuration: appliance.dpo',
            },
            {
              label: 'Signature and accession date',
              value: blank('signature and date'),
              basis: 'To be completed by the processor',
            },
          ]),
        ],
      },
    ],
  };
}

function annexII(e: ReportEvidence): ReportSection {
  const r = e.file.retention;
  const kinds = configuredKinds(e.file);
  const cached = e.file.models.some((m) => m.cache.ttlSeconds > 0);
  const exceptions = [
    ...(kinds.includes('image')
      ? [
          `generated images requested as a URL are held in ${imagesHeldIn(e)} for ${r.imageMinutes} minute(s) (retention.imageMinutes)`,
        ]
      : []),
    ...(cached
      ? [
          'answers of models with a response cache are held in memory for the cache time (models[].cache.ttlSeconds)',
        ]
      : []),
  ];
  return {
    heading: 'Annex II – Description of the processing',
    blocks: [
      fields([
        {
          label: 'Categories of data subjects',
          value:
            "The controller's users who call the appliance with keys issued to the controller's accounts, and any " +
            `natural person whose personal data users include in the content they submit. ${blank('controller to specify')}`,
          basis: 'Design: content is submitted by users with API keys; the controller knows whom it concerns',
        },
        {
          label: 'Categories of personal data',
          value: [
            ...kinds.map((k) => `${KIND_PROCESSING[k].data} (${modelsOfKind(e.file, k).join(', ')})`),
            METADATA_CATEGORY,
          ].join('; '),
          basis: 'Configuration: models[].kind and models[].id; metadata allowlist of this product version',
        },
        {
          label: 'Sensitive data processed (if applicable) and restrictions or safeguards applied',
          value:
            'The appliance does not inspect or filter content; special categories of data reach the models if users submit them. ' +
            blank('controller to state whether sensitive data are processed and the safeguards agreed'),
          basis: 'Design: content is relayed unchanged and not inspected',
        },
        {
          label: 'Nature of the processing',
          value:
            'Transient: each request is relayed to an inference server of the requested model and the answer ' +
            'returned to the caller; content is held in memory for the duration of the request only and is not stored or logged' +
            (exceptions.length ? `, except: ${exceptions.join('; ')}` : '') +
            '. Request metadata (no content) is stored for metering and audit.',
          basis:
            'Design (metadata-only logging); configuration: retention.imageMinutes, models[].cache.ttlSeconds',
        },
        {
          label: 'Purpose(s) for which the personal data is processed on behalf of the controller',
          value: `Inference with AI models on behalf of the controller: ${kinds.map((k) => KIND_PROCESSING[k].processing).join('; ')}. ${blank('controller to specify its purposes')}`,
          basis: 'Configuration: models[].kind',
        },
        {
          label: 'Duration of the processing',
          value:
            `${blank('term of the agreement')}. Content: for the duration of each request. Usage metadata: ` +
            `${r.usageDays} days (retention.usageDays); audit events: ${r.auditDays} days (retention.auditDays).`,
          basis: 'Configuration: retention',
        },
        {
          label: 'Places of storage and of outbound connections',
          value: describeDataPlaces(e),
          basis:
            'Configuration: database, redis, media, upstreams[].egress; DATABASE_URL and REDIS_URL (host and port only)',
        },
        {
          label: 'For processing by (sub-)processors: subject matter, nature and duration',
          value: 'As above, for the models and sites listed per sub-processor in Annex IV.',
          basis: 'Annex IV',
        },
      ]),
    ],
  };
}

function annexIII(e: ReportEvidence): ReportSection {
  const measures = evaluateMeasures(e);
  return {
    heading:
      'Annex III – Technical and organisational measures including measures to ensure the security of the data',
    blocks: [
      paragraph(
        'The measures below are those of the TOM document generated from the same configuration ' +
          `(fingerprint ${e.fingerprint}), with the evidence read at generation time. Measures the appliance ` +
          'cannot verify are marked as such and are to be described by the processor.',
      ),
      table(
        ['No.', 'Measure', 'Status', 'Evidence'],
        measures.map((m, i) => [String(i + 1), m.title, STATUS_LABELS[m.status], m.evidence.join('; ')]),
        'Evaluation of compliance/measures.json at generation time',
      ),
      list([
        `Organisational measures of the processor not evidenced by the appliance: ${blank('to be described by the processor')}`,
      ]),
    ],
  };
}

function annexIV(e: ReportEvidence): ReportSection {
  const external = groupOperators(e.file).filter((g) => !g.isProcessor);
  return {
    heading: 'Annex IV – List of sub-processors',
    blocks: [
      paragraph(
        'The controller has authorised the use of the following sub-processors (Clause 7.7; option and notice ' +
          `period: ${blank('Option 1 or 2; SPECIFY TIME PERIOD')}).`,
      ),
      external.length
        ? subprocessorTable(external)
        : paragraph(
            'None: according to the configuration no upstream is operated by a third party.',
            'Configuration: upstreams[].operator',
          ),
    ],
  };
}

export function buildDpa(e: ReportEvidence): ReportDocument {
  const { operator } = e.file.appliance;
  return newDocument(
    e,
    'dpa',
    'Data processing agreement',
    `Standard contractual clauses, Decision (EU) 2021/915 (Art. 28(7) GDPR); processor: ${operator.name}`,
    [clausesSection(), annexI(e), annexII(e), annexIII(e), annexIV(e)],
  );
}
