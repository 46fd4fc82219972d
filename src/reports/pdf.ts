// PDF rendering of a report model with pdfkit: A4, the standard Helvetica fonts (built into every PDF
// reader, so nothing is embedded or downloaded), headings, wrapped tables that continue on the next page
// with their header row repeated, and on every page a footer with "Page n of m" and the configuration
// fingerprint. The document info (Title, Author, Subject, dates) comes from the model; the creation date
// is the generation time, so the same model always gives the same bytes.
import PDFDocument from 'pdfkit';
import type { ReportBlock, ReportDocument, ReportSection } from './report-model';

type Pdf = PDFKit.PDFDocument;

const MARGIN = { top: 56, bottom: 72, left: 56, right: 56 };
const FONT = { regular: 'Helvetica', bold: 'Helvetica-Bold', italic: 'Helvetica-Oblique', mono: 'Courier' };
const HEADING_SIZES = [18, 14, 12, 10.5, 10.5, 10.5];
const TEXT_SIZE = 9.5;
const TABLE_SIZE = 8;
const CELL_PAD = 3;
const GREY = '#555555';

/** Characters the standard fonts' WinAnsi encoding has besides Latin-1 (pdfkit's own map). */
const WIN_ANSI_EXTRA = new Set([
  402, 8211, 8212, 8216, 8217, 8218, 8220, 8221, 8222, 8224, 8225, 8226, 8230, 8364, 8240, 8249, 8250, 710,
  8482, 338, 339, 732, 352, 353, 376, 381, 382,
]);
const encodable = (c: string): boolean => {
  const code = c.codePointAt(0)!;
  return (code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xff) || WIN_ANSI_EXTRA.has(code);
};

/** Standard fonts cover WinAnsi only: other characters lose their accents where they can, else become "?". */
export function pdfText(text: string): string {
  let out = '';
  for (const c of text.normalize('NFC').replace(/\s+/g, ' ')) {
    if (encodable(c)) out += c;
    else {
      const base = [...c.normalize('NFKD')].filter(encodable).join('');
      out += base || '?';
    }
  }
  return out;
}

class PdfLayout {
  constructor(private readonly pdf: Pdf) {}

  private get width(): number {
    return this.pdf.page.width - MARGIN.left - MARGIN.right;
  }

  private get bottom(): number {
    return this.pdf.page.height - MARGIN.bottom;
  }

  /** Starts a new page unless `height` points still fit on this one. */
  private ensure(height: number): void {
    if (this.pdf.y + height > this.bottom) this.pdf.addPage();
    this.pdf.x = MARGIN.left;
  }

  text(text: string, font: string, size: number, options: PDFKit.Mixins.TextOptions = {}): void {
    this.pdf.font(font).fontSize(size);
    this.pdf.text(pdfText(text), MARGIN.left, this.pdf.y, { width: this.width, ...options });
  }

  heading(text: string, level: number): void {
    const size = HEADING_SIZES[Math.min(level, HEADING_SIZES.length) - 1]!;
    this.ensure(size * 2 + 48); // keep a heading with the first lines below it
    this.pdf.moveDown(level <= 2 ? 0.8 : 0.5);
    this.text(text, FONT.bold, size);
    this.pdf.moveDown(0.3);
  }

  basis(basis: string | undefined): void {
    if (!basis) return;
    this.pdf.fillColor(GREY);
    this.text(`Based on: ${basis}`, FONT.italic, 7.5);
    this.pdf.fillColor('black');
    this.pdf.moveDown(0.4);
  }

  paragraph(text: string, basis?: string): void {
    this.ensure(TEXT_SIZE * 3);
    this.text(text, FONT.regular, TEXT_SIZE);
    this.pdf.moveDown(0.3);
    this.basis(basis);
  }

  list(items: string[], basis?: string): void {
    for (const item of items) {
      this.ensure(TEXT_SIZE * 2);
      const y = this.pdf.y;
      this.pdf
        .font(FONT.regular)
        .fontSize(TEXT_SIZE)
        .text('\u2022', MARGIN.left + 4, y, { lineBreak: false });
      this.pdf.text(pdfText(item), MARGIN.left + 16, y, { width: this.width - 16 });
      this.pdf.moveDown(0.15);
    }
    this.pdf.moveDown(0.2);
    this.basis(basis);
  }

  table(columns: string[], rows: string[][], weights?: number[]): void {
    const widths = columnWidths(columns, rows, this.width, weights);
    const drawRow = (cells: string[], header: boolean): void => {
      this.pdf.font(header ? FONT.bold : FONT.regular).fontSize(TABLE_SIZE);
      const texts = cells.map(pdfText);
      const heights = texts.map((t, i) => this.pdf.heightOfString(t, { width: widths[i]! - 2 * CELL_PAD }));
      const maxHeight = this.bottom - MARGIN.top - 2 * CELL_PAD;
      const height = Math.min(Math.max(...heights, TABLE_SIZE), maxHeight) + 2 * CELL_PAD;
      if (this.pdf.y + height > this.bottom) {
        this.pdf.addPage();
        if (!header) drawRow(columns, true);
        this.pdf.font(header ? FONT.bold : FONT.regular).fontSize(TABLE_SIZE);
      }
      const top = this.pdf.y;
      let x = MARGIN.left;
      texts.forEach((t, i) => {
        const w = widths[i]!;
        if (header) this.pdf.rect(x, top, w, height).fillAndStroke('#e8e8e8', '#888888').fillColor('black');
        else this.pdf.rect(x, top, w, height).strokeColor('#888888').stroke();
        this.pdf.text(t, x + CELL_PAD, top + CELL_PAD, {
          width: w - 2 * CELL_PAD,
          height: height - 2 * CELL_PAD,
          ellipsis: true,
        });
        x += w;
      });
      this.pdf.x = MARGIN.left;
      this.pdf.y = top + height;
    };
    this.ensure(TABLE_SIZE * 6);
    drawRow(columns, true);
    rows.forEach((r) => drawRow(r, false));
    this.pdf.moveDown(0.6);
  }
}

/** Widths in proportion to each column's typical text length, within bounds, filling `total`. */
function columnWidths(columns: string[], rows: string[][], total: number, weights?: number[]): number[] {
  const raw =
    weights ??
    columns.map((c, i) => {
      const lengths = rows.map((r) => (r[i] ?? '').length);
      const typical = Math.max(c.length, ...lengths.map((l) => Math.min(l, 80)));
      return Math.max(4, Math.sqrt(typical) * 4);
    });
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => (w / sum) * total);
}

function renderBlock(layout: PdfLayout, block: ReportBlock): void {
  switch (block.kind) {
    case 'paragraph':
      return layout.paragraph(block.text, block.basis);
    case 'list':
      return layout.list(block.items, block.basis);
    case 'fields':
      return layout.table(
        ['Item', 'Statement', 'Based on'],
        block.rows.map((r) => [r.label, r.value, r.basis]),
        [26, 46, 28],
      );
    case 'table':
      layout.table(block.columns, block.rows);
      return layout.basis(block.basis);
  }
}

function renderSection(layout: PdfLayout, section: ReportSection, level: number): void {
  layout.heading(section.heading, level);
  section.blocks.forEach((b) => renderBlock(layout, b));
  section.subsections?.forEach((s) => renderSection(layout, s, level + 1));
}

function titleBlock(pdf: Pdf, layout: PdfLayout, doc: ReportDocument): void {
  const s = doc.stamp;
  layout.text(doc.title, FONT.bold, HEADING_SIZES[0]!);
  pdf.moveDown(0.2);
  layout.text(doc.subtitle, FONT.regular, 11);
  pdf.moveDown(0.4);
  layout.text(
    `Generated ${s.generated_at} by ${s.product} ${s.product_version}, appliance ${s.appliance}`,
    FONT.regular,
    8.5,
  );
  layout.text(`Configuration fingerprint ${s.config_fingerprint}`, FONT.regular, 8.5);
}

/** Footers go on last, once the page count is known (pages stay buffered until then). */
function footers(pdf: Pdf, doc: ReportDocument): void {
  const range = pdf.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    pdf.switchToPage(i);
    const bottomMargin = pdf.page.margins.bottom;
    pdf.page.margins.bottom = 0; // writing below the margin must not start a new page
    const width = pdf.page.width - MARGIN.left - MARGIN.right;
    const y = pdf.page.height - MARGIN.bottom + 24;
    pdf
      .moveTo(MARGIN.left, y - 6)
      .lineTo(MARGIN.left + width, y - 6)
      .strokeColor('#aaaaaa')
      .stroke();
    pdf.font(FONT.regular).fontSize(7).fillColor(GREY);
    pdf.text(`Configuration fingerprint ${doc.stamp.config_fingerprint}`, MARGIN.left, y, {
      lineBreak: false,
    });
    pdf.text(`Page ${i + 1} of ${range.count}`, MARGIN.left, y, { width, align: 'right', lineBreak: false });
    pdf.text(
      pdfText(`${doc.title}: ${doc.stamp.appliance}. Generated ${doc.stamp.generated_at}.`),
      MARGIN.left,
      y + 10,
      {
        lineBreak: false,
      },
    );
    pdf.fillColor('black');
    pdf.page.margins.bottom = bottomMargin;
  }
}

export function renderPdf(doc: ReportDocument): Promise<Buffer> {
  const created = new Date(doc.stamp.generated_at);
  const pdf = new PDFDocument({
    size: 'A4',
    margins: MARGIN,
    bufferPages: true,
    lang: 'en',
    displayTitle: true,
    info: {
      Title: pdfText(doc.title),
      Author: pdfText(doc.author),
      Subject: pdfText(`${doc.subtitle} (configuration fingerprint ${doc.stamp.config_fingerprint})`),
      Creator: `${doc.stamp.product} ${doc.stamp.product_version}`,
      Keywords: doc.stamp.config_fingerprint,
      CreationDate: created,
      ModDate: created,
    },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pdf.on('data', (chunk: Buffer) => chunks.push(chunk));
    pdf.on('end', () => resolve(Buffer.concat(chunks)));
    pdf.on('error', reject);
  });
  const layout = new PdfLayout(pdf);
  titleBlock(pdf, layout, doc);
  doc.sections.forEach((s) => renderSection(layout, s, 2));
  footers(pdf, doc);
  pdf.end();
  return done;
}
