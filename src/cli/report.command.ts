// `hunze report dpa|tom|subprocessors|ropa|all [--format md|html|pdf|json] [--out PATH]`. Like `hunze keys`:
// with Postgres (or an embedded database no server has open) the CLI builds the reports itself through
// ReportsService; with the embedded database and a running server it asks the server's admin API
// (GET /admin/v1/reports/{name}), so the report describes the running system either way. Every export is
// recorded in the audit log.
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { INestApplicationContext } from '@nestjs/common';
import {
  isReportFormat,
  isReportName,
  REPORT_FORMATS,
  REPORT_NAMES,
  type ReportFormat,
  type ReportName,
} from '../reports/report-model';
import { ReportsService, type RenderedReport } from '../reports/reports.service';
import type { HunzeConfig } from '../config/hunze-config';
import { openAppliance } from './appliance-access';

interface ReportOps {
  export(name: ReportName, format: ReportFormat): Promise<RenderedReport>;
  close(): Promise<void>;
}

const OPTIONS = { format: { type: 'string' }, out: { type: 'string' } } as const;

export async function runReportCommand(
  sub: string | undefined,
  args: string[],
  config: HunzeConfig,
  context: () => Promise<INestApplicationContext>,
): Promise<number> {
  const { values } = parseArgs({ args, options: OPTIONS, allowPositionals: false, strict: true });
  if (sub !== 'all' && !isReportName(sub))
    throw new Error(`unknown report: ${sub ?? ''}; one of ${REPORT_NAMES.join(', ')}, all`);
  if (values.format !== undefined && !isReportFormat(values.format))
    throw new Error(`unknown report format: ${values.format}; one of ${REPORT_FORMATS.join(', ')}`);
  const format = values.format;
  if (sub === 'all' && !values.out) throw new Error('report all needs --out DIRECTORY');
  if (sub !== 'all' && (format ?? 'md') === 'pdf' && !values.out && process.stdout.isTTY)
    throw new Error('refusing to write a PDF to a terminal; use --out FILE or redirect the output');
  const ops = await openReportOps(config, context);
  try {
    if (sub === 'all') await exportAll(ops, format ? [format] : [...REPORT_FORMATS], values.out!);
    else await exportOne(ops, sub, format ?? 'md', values.out);
    return 0;
  } finally {
    await ops.close();
  }
}

async function exportOne(
  ops: ReportOps,
  name: ReportName,
  format: ReportFormat,
  out?: string,
): Promise<void> {
  const report = await ops.export(name, format);
  if (!out) {
    process.stdout.write(report.body);
    return;
  }
  const path = isDirectory(out) ? join(out, report.fileName) : out;
  writeFileSync(path, report.body);
  process.stdout.write(`${path}\n`);
}

/** Every report in every format asked for, into one directory; progress on stderr when it is a terminal. */
async function exportAll(ops: ReportOps, formats: ReportFormat[], dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const jobs = REPORT_NAMES.flatMap((name) => formats.map((format) => ({ name, format })));
  const progress = process.stderr.isTTY;
  for (const [i, { name, format }] of jobs.entries()) {
    if (progress) process.stderr.write(`\r[${i + 1}/${jobs.length}] ${name}.${format}   `);
    const report = await ops.export(name, format);
    const path = join(dir, report.fileName);
    writeFileSync(path, report.body);
    if (!progress) process.stdout.write(`${path}\n`);
  }
  if (progress) process.stderr.write(`\r${jobs.length} reports written to ${dir}\n`);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function openReportOps(
  config: HunzeConfig,
  context: () => Promise<INestApplicationContext>,
): Promise<ReportOps> {
  return openAppliance<Omit<ReportOps, 'close'>>(config, context, {
    local: (app) => {
      const reports = app.get(ReportsService);
      return { export: (name, format) => reports.export(name, format, 'cli') };
    },
    remote: (api) => ({
      async export(name, format) {
        const response = await api.fetch(`/reports/${name}?format=${format}`);
        const disposition = response.headers.get('content-disposition') ?? '';
        return {
          body: Buffer.from(await response.arrayBuffer()),
          contentType: response.headers.get('content-type') ?? '',
          fileName: basename(/filename="([^"]+)"/.exec(disposition)?.[1] ?? `hunze-${name}.${format}`),
        };
      },
    }),
  });
}
