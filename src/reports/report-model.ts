// The one document model every report is built as. It is plain, JSON-serialisable data: the `json` format
// is this object, and the md, html and pdf renderers only lay it out. Every claim carries its basis (the
// configuration key or the check run at generation time) so a reader can trace it.

export const REPORT_NAMES = ['dpa', 'tom', 'subprocessors', 'ropa'] as const;
export type ReportName = (typeof REPORT_NAMES)[number];

export const REPORT_FORMATS = ['md', 'html', 'pdf', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function isReportName(value: unknown): value is ReportName {
  return typeof value === 'string' && (REPORT_NAMES as readonly string[]).includes(value);
}

export function isReportFormat(value: unknown): value is ReportFormat {
  return typeof value === 'string' && (REPORT_FORMATS as readonly string[]).includes(value);
}

/** Identifies the generation: only `generated_at` differs between two reports of the same state. */
export interface ReportStamp {
  generated_at: string;
  product: 'Hunze';
  product_version: string;
  config_fingerprint: string;
  appliance: string;
}

/** One labelled statement and what it is based on. */
export interface ReportField {
  label: string;
  value: string;
  basis: string;
}

export type ReportBlock =
  | { kind: 'paragraph'; text: string; basis?: string }
  | { kind: 'list'; items: string[]; basis?: string }
  | { kind: 'fields'; rows: ReportField[] }
  | { kind: 'table'; columns: string[]; rows: string[][]; basis?: string };

export interface ReportSection {
  heading: string;
  blocks: ReportBlock[];
  subsections?: ReportSection[];
}

export interface ReportDocument {
  schema: 'hunze.report/1';
  report: ReportName;
  title: string;
  subtitle: string;
  /** The processor (appliance.operator.name): the PDF's author. */
  author: string;
  stamp: ReportStamp;
  sections: ReportSection[];
}

/** The placeholder for what only the parties can fill in; kept recognisable in every format. */
export function blank(what: string): string {
  return `[${what}]`;
}

export const paragraph = (text: string, basis?: string): ReportBlock =>
  basis ? { kind: 'paragraph', text, basis } : { kind: 'paragraph', text };

export const list = (items: string[], basis?: string): ReportBlock =>
  basis ? { kind: 'list', items, basis } : { kind: 'list', items };

export const fields = (rows: ReportField[]): ReportBlock => ({ kind: 'fields', rows });

export const table = (columns: string[], rows: string[][], basis?: string): ReportBlock =>
  basis ? { kind: 'table', columns, rows, basis } : { kind: 'table', columns, rows };

/** A stable file name: hunze-<report>-<YYYY-MM-DD>.<format> (UTC date of generation). */
export function reportFileName(doc: Pick<ReportDocument, 'report' | 'stamp'>, format: ReportFormat): string {
  return `hunze-${doc.report}-${doc.stamp.generated_at.slice(0, 10)}.${format}`;
}
