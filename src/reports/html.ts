// Self-contained HTML rendering of a report model: one file, inline CSS, no scripts, images, fonts or links
// to load, and a print stylesheet (A4 pages, headings kept with what follows, table rows not split).
// Every value is escaped.
import type { ReportBlock, ReportDocument, ReportSection } from './report-model';

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

const STYLE = `
body { font-family: Helvetica, Arial, sans-serif; font-size: 10.5pt; line-height: 1.45; color: #111; max-width: 60em; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 20pt; margin: 0 0 0.2em; }
h2 { font-size: 14pt; margin: 1.6em 0 0.5em; border-bottom: 1px solid #999; padding-bottom: 0.15em; }
h3 { font-size: 12pt; margin: 1.2em 0 0.4em; }
h4, h5, h6 { font-size: 11pt; margin: 1em 0 0.3em; }
.subtitle { font-size: 12pt; margin: 0 0 0.8em; }
.stamp { font-size: 9pt; color: #333; border: 1px solid #bbb; padding: 0.4em 0.6em; margin-bottom: 1.5em; }
.fingerprint, code { font-family: "Courier New", monospace; word-break: break-all; }
table { border-collapse: collapse; width: 100%; margin: 0.4em 0 0.8em; font-size: 9.5pt; }
th, td { border: 1px solid #999; padding: 0.25em 0.4em; text-align: left; vertical-align: top; }
th { background: #eee; }
.basis { font-size: 8.5pt; color: #555; font-style: italic; margin: -0.4em 0 0.8em; }
td.basis-cell { font-size: 8.5pt; color: #444; }
@page { size: A4; margin: 18mm 16mm 20mm; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 10pt; }
  h1, h2, h3, h4 { page-break-after: avoid; break-after: avoid; }
  table, ul, p { page-break-inside: auto; }
  tr, li { page-break-inside: avoid; break-inside: avoid; }
  thead { display: table-header-group; }
  .stamp { page-break-inside: avoid; }
}`;

const basis = (text: string | undefined): string =>
  text ? `<p class="basis">Based on: ${escapeHtml(text)}</p>` : '';

function tableHtml(columns: string[], rows: string[][], cellClass: (i: number) => string = () => ''): string {
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = rows
    .map((r) => `<tr>${r.map((c, i) => `<td${cellClass(i)}>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function blockHtml(block: ReportBlock): string {
  switch (block.kind) {
    case 'paragraph':
      return `<p>${escapeHtml(block.text)}</p>${basis(block.basis)}`;
    case 'list':
      return `<ul>${block.items.map((i) => `<li>${escapeHtml(i)}</li>`).join('')}</ul>${basis(block.basis)}`;
    case 'fields':
      return tableHtml(
        ['Item', 'Statement', 'Based on'],
        block.rows.map((r) => [r.label, r.value, r.basis]),
        (i) => (i === 2 ? ' class="basis-cell"' : ''),
      );
    case 'table':
      return tableHtml(block.columns, block.rows) + basis(block.basis);
  }
}

function sectionHtml(section: ReportSection, level: number): string {
  const h = Math.min(level, 6);
  return [
    `<section><h${h}>${escapeHtml(section.heading)}</h${h}>`,
    ...section.blocks.map(blockHtml),
    ...(section.subsections ?? []).map((s) => sectionHtml(s, level + 1)),
    '</section>',
  ].join('\n');
}

export function renderHtml(doc: ReportDocument): string {
  const s = doc.stamp;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="author" content="${escapeHtml(doc.author)}">
<meta name="generator" content="${escapeHtml(`${s.product} ${s.product_version}`)}">
<title>${escapeHtml(`${doc.title}: ${s.appliance}`)}</title>
<style>${STYLE}
</style>
</head>
<body>
<header>
<h1>${escapeHtml(doc.title)}</h1>
<p class="subtitle">${escapeHtml(doc.subtitle)}</p>
<div class="stamp">Generated ${escapeHtml(s.generated_at)} by ${escapeHtml(`${s.product} ${s.product_version}`)}, appliance ${escapeHtml(s.appliance)}<br>
Configuration fingerprint <span class="fingerprint">${escapeHtml(s.config_fingerprint)}</span></div>
</header>
<main>
${doc.sections.map((section) => sectionHtml(section, 2)).join('\n')}
</main>
</body>
</html>
`;
}
