// A usage report as CSV (RFC 4180, bound for spreadsheets) or as an aligned text table with a totals line
// (the CLI). Both lay out the same columns; the first ones name the group.
import type { UsageGroup } from './dto/usage-query.dto';
import { totalsOf, type UsageReport, type UsageRowDto, type UsageTotals } from './usage.service';

type Cell = string | number | null | undefined;

const TOTAL_COLUMNS: readonly (keyof UsageTotals)[] = [
  'requests',
  'errors',
  'prompt_tokens',
  'completion_tokens',
  'total_tokens',
  'audio_seconds',
];

/** The columns that name a group, with how to read each from a row. */
const GROUP_COLUMNS: Readonly<Record<UsageGroup, readonly [string, (row: UsageRowDto) => Cell][]>> = {
  model: [['model', (r) => r.group]],
  account: [['account', (r) => r.group]],
  day: [['day', (r) => r.group]],
  key: [
    ['key_id', (r) => r.group],
    ['key_name', (r) => r.key_name],
    ['key_prefix', (r) => r.key_prefix],
    ['account', (r) => r.account],
  ],
};

function header(groupBy: UsageGroup): string[] {
  return [...GROUP_COLUMNS[groupBy].map(([name]) => name), ...TOTAL_COLUMNS];
}

function cells(row: UsageRowDto, groupBy: UsageGroup): Cell[] {
  return [...GROUP_COLUMNS[groupBy].map(([, read]) => read(row)), ...TOTAL_COLUMNS.map((c) => row[c])];
}

/**
 * One CSV field. Text that a spreadsheet would run as a formula (= + - @, or a leading tab or carriage
 * return) gets a leading apostrophe (OWASP's advice for CSV injection); then RFC 4180 quoting.
 */
export function csvField(value: Cell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Header line and one line per group, CRLF line ends as RFC 4180 has them. */
export function usageToCsv(report: UsageReport): string {
  const lines = [header(report.group_by), ...report.data.map((row) => cells(row, report.group_by))];
  return lines.map((line) => line.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** Control characters (a terminal escape in a key name) are shown as '?' rather than sent to the terminal. */
function printable(value: Cell): string {
  if (value === null || value === undefined) return '-';
  return typeof value === 'number' ? value.toLocaleString('en-US') : value.replace(/[\p{Cc}]/gu, '?');
}

/** Aligned columns (numbers to the right) and a TOTAL line, under a line that states the range. */
export function usageToTable(report: UsageReport): string {
  const groupBy = report.group_by;
  const groupColumns = GROUP_COLUMNS[groupBy].length;
  const totals = totalsOf(report.data);
  const rows = [
    header(groupBy).map((name) => name.toUpperCase()),
    ...report.data.map((row) => cells(row, groupBy).map(printable)),
    ['TOTAL', ...Array<string>(groupColumns - 1).fill(''), ...TOTAL_COLUMNS.map((c) => printable(totals[c]))],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...r[i]!].length)));
  const pad = (text: string, i: number) => {
    const fill = ' '.repeat(widths[i]! - [...text].length);
    return i < groupColumns ? text + fill : fill + text;
  };
  const title = `Usage by ${groupBy} from ${report.from} to ${report.to} (exclusive)`;
  const body = rows.map((r) => r.map(pad).join('  ').trimEnd());
  return [title, '', ...body].join('\n');
}
