// Markdown rendering of a report model (CommonMark with GFM tables). Every value is escaped, so text from
// the configuration cannot become markup.
import type { ReportBlock, ReportDocument, ReportSection } from './report-model';

/** Backslash-escapes the characters that start markup inline; newlines become spaces. */
export function escapeInline(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/([\\`*_[\]<>|#~!])/g, '\\$1');
}

/** escapeInline, and a text at the start of a line cannot begin a list either. */
export function escapeMd(text: string): string {
  return escapeInline(text)
    .replace(/^([-+])/, '\\$1')
    .replace(/^(\d+)\./, '$1\\.');
}

const basisLine = (basis: string | undefined): string[] =>
  basis ? [`*Based on: ${escapeInline(basis)}*`, ''] : [];

function tableLines(columns: string[], rows: string[][]): string[] {
  const line = (cells: string[]) => `| ${cells.map(escapeInline).join(' | ')} |`;
  return [line(columns), `|${columns.map(() => ' --- ').join('|')}|`, ...rows.map(line), ''];
}

function blockLines(block: ReportBlock): string[] {
  switch (block.kind) {
    case 'paragraph':
      return [escapeMd(block.text), '', ...basisLine(block.basis)];
    case 'list':
      return [...block.items.map((item) => `- ${escapeInline(item)}`), '', ...basisLine(block.basis)];
    case 'fields':
      return tableLines(
        ['Item', 'Statement', 'Based on'],
        block.rows.map((r) => [r.label, r.value, r.basis]),
      );
    case 'table':
      return [...tableLines(block.columns, block.rows), ...basisLine(block.basis)];
  }
}

function sectionLines(section: ReportSection, level: number): string[] {
  return [
    `${'#'.repeat(level)} ${escapeInline(section.heading)}`,
    '',
    ...section.blocks.flatMap(blockLines),
    ...(section.subsections ?? []).flatMap((s) => sectionLines(s, Math.min(level + 1, 6))),
  ];
}

export function renderMarkdown(doc: ReportDocument): string {
  const s = doc.stamp;
  const lines = [
    `# ${escapeInline(doc.title)}`,
    '',
    `**${escapeInline(doc.subtitle)}**`,
    '',
    `Generated ${escapeInline(s.generated_at)} by ${escapeInline(`${s.product} ${s.product_version}`)} ` +
      `(appliance ${escapeInline(s.appliance)}); configuration fingerprint \`${s.config_fingerprint}\``,
    '',
    ...doc.sections.flatMap((section) => sectionLines(section, 2)),
  ];
  return `${lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
