// Builds a report's model from the evidence read now, renders it in the asked format, and records every
// export in the audit log (action report.exported, details {report, format}). The API and the CLI both
// come through export().
import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { buildDpa } from './dpa';
import { renderHtml } from './html';
import { renderMarkdown } from './markdown';
import { renderPdf } from './pdf';
import { ReportEvidenceCollector, type ReportEvidence } from './report-evidence';
import { reportFileName, type ReportDocument, type ReportFormat, type ReportName } from './report-model';
import { buildRopa } from './ropa';
import { buildSubprocessors } from './subprocessors';
import { buildTom } from './tom';

const BUILDERS: Record<ReportName, (e: ReportEvidence) => ReportDocument> = {
  dpa: buildDpa,
  tom: buildTom,
  subprocessors: buildSubprocessors,
  ropa: buildRopa,
};

export const CONTENT_TYPES: Record<ReportFormat, string> = {
  md: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
  pdf: 'application/pdf',
  json: 'application/json; charset=utf-8',
};

export interface RenderedReport {
  body: Buffer;
  contentType: string;
  fileName: string;
}

export async function renderReport(doc: ReportDocument, format: ReportFormat): Promise<Buffer> {
  switch (format) {
    case 'md':
      return Buffer.from(renderMarkdown(doc), 'utf8');
    case 'html':
      return Buffer.from(renderHtml(doc), 'utf8');
    case 'pdf':
      return renderPdf(doc);
    case 'json':
      return Buffer.from(`${JSON.stringify(doc, null, 2)}\n`, 'utf8');
  }
}

@Injectable()
export class ReportsService {
  constructor(
    @Inject(ReportEvidenceCollector) private readonly evidence: ReportEvidenceCollector,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  /** The report's model from the system's state now; records nothing. */
  async build(name: ReportName, now = new Date()): Promise<ReportDocument> {
    return BUILDERS[name](await this.evidence.collect(now));
  }

  /** Builds, renders and records the export; `actor` as in the audit log (key id, 'local-cli', 'cli'). */
  async export(name: ReportName, format: ReportFormat, actor: string): Promise<RenderedReport> {
    const doc = await this.build(name);
    const body = await renderReport(doc, format);
    await this.audit.record({
      actor,
      action: 'report.exported',
      target: name,
      details: { report: name, format },
    });
    return { body, contentType: CONTENT_TYPES[format], fileName: reportFileName(doc, format) };
  }
}
