// Compliance: every report in every format (downloaded with the bearer header), the configuration
// fingerprint, each upstream's location and latest residency check, and the audit log with the chain's
// verification result.
import { download, getJson } from './api.js';
import { byId, cell, fillTable, h } from './dom.js';
import { utc } from './format.js';
import type { ConsolePage, ConsoleState } from './page.js';
import { announce, busy, showError } from './status.js';
import type { AuditEvent, AuditVerify, KeyRecord, List, UpstreamStatus } from './types.js';

const REPORTS = [
  ['dpa', 'Data processing agreement (SCCs, Annexes I–IV)'],
  ['tom', 'Technical and organisational measures (GDPR Art. 32)'],
  ['subprocessors', 'Sub-processors'],
  ['ropa', 'Record of processing (GDPR Art. 30(2))'],
] as const;
const FORMATS = [
  ['pdf', 'PDF'],
  ['html', 'HTML'],
  ['md', 'Markdown'],
  ['json', 'JSON'],
] as const;
const AUDIT_PAGE = 100;

let auditAfter: number | null = null;
/** Key ids to names, so the audit log says who acted (the id stays in the tooltip). */
let keyNames = new Map<string, string>();

function renderReports(): void {
  const rows = REPORTS.map(([name, title]) => {
    const buttons = FORMATS.map(([format, label]) => {
      const button = h('button', {
        class: 'secondary small',
        text: label,
        attrs: {
          type: 'button',
          'aria-label': `Download ${title} as ${label}`,
          'data-report': `${name}.${format}`,
        },
      });
      button.addEventListener(
        'click',
        () =>
          void busy(button, 'Download failed', async () => {
            const file = await download(`/reports/${name}`, { format }, `hunze-${name}.${format}`);
            announce(`Downloaded ${file}.`);
          }),
      );
      return button;
    });
    return h(
      'tr',
      {},
      h('th', { text: title, attrs: { scope: 'row' } }),
      cell(h('div', { class: 'inline' }, ...buttons)),
    );
  });
  fillTable(byId<HTMLTableElement>('reports-table'), rows, '');
}

function renderConfig(state: ConsoleState): void {
  const { config } = state;
  const facts: [string, Node | string][] = [
    ['Fingerprint', h('code', { text: config.fingerprint, attrs: { id: 'config-fingerprint' } })],
    ['Configuration file', h('code', { text: config.sourcePath })],
    ['Appliance', config.config.appliance?.name ?? ''],
    ['Operator', config.config.appliance?.operator?.name ?? ''],
    ['Allowed regions', (config.config.residency?.allowedRegions ?? []).join(', ')],
  ];
  byId('config-facts').replaceChildren(
    ...facts.flatMap(([label, value]) => [h('dt', { text: label }), h('dd', {}, value)]),
  );
}

function residencyCell(upstream: UpstreamStatus): HTMLTableCellElement {
  const { residency } = upstream;
  if (residency.status === 'unchecked')
    return cell(h('span', { class: 'badge neutral', text: 'not checked yet (no connection since start)' }));
  const passed = residency.status === 'passed';
  const badge = h('span', { class: `badge ${passed ? 'ok' : 'bad'}`, text: passed ? 'passed' : 'refused' });
  const detail = [utc(residency.checked_at), residency.address, residency.reason].filter(Boolean).join(' · ');
  return cell(h('span', {}, badge, ' ', detail));
}

function upstreamRow(upstream: UpstreamStatus): HTMLTableRowElement {
  const place = [upstream.location.country, upstream.location.city, upstream.location.site].filter(Boolean);
  const operator = [upstream.operator.name, upstream.operator.country].filter(Boolean).join(', ');
  const availability = upstream.available
    ? h('span', { class: 'badge ok', text: 'yes' })
    : h('span', { class: 'badge bad', text: `no (circuit ${upstream.circuit})` });
  return h(
    'tr',
    { attrs: { 'data-upstream': upstream.id } },
    cell(h('code', { class: 'nowrap', text: upstream.id })),
    cell(upstream.models.join(', ')),
    cell(place.join(', ')),
    cell(operator),
    cell(h('code', { text: upstream.networks.join(', ') })),
    cell(availability),
    residencyCell(upstream),
  );
}

async function loadResidency(): Promise<void> {
  const upstreams = await getJson<List<UpstreamStatus>>('/upstreams');
  fillTable(
    byId<HTMLTableElement>('residency-table'),
    upstreams.data.map(upstreamRow),
    'No upstreams configured.',
  );
}

async function loadVerify(): Promise<void> {
  const result = await getJson<AuditVerify>('/audit/verify');
  const line = byId('audit-verify');
  line.className = `verify ${result.valid ? 'ok' : 'bad'}`;
  if (result.valid) {
    line.textContent = `Chain intact: ${result.checked} events verified (from seq ${result.anchor_seq}).`;
    return;
  }
  const broken = result.firstBroken;
  line.textContent =
    `Chain BROKEN at seq ${broken?.seq ?? '?'}: ${broken?.reason ?? 'unknown'}` +
    (broken?.expected_seq !== undefined ? ` (rows from ${broken.expected_seq} are missing)` : '') +
    '. Compare with an export kept outside the appliance.';
}

/** A key id as its name when known; other actors (system, cli, break-glass) as they are. */
function who(id: string): HTMLElement {
  const name = keyNames.get(id);
  return name === undefined ? h('code', { text: id }) : h('span', { text: name, attrs: { title: id } });
}

function auditRow(event: AuditEvent): HTMLTableRowElement {
  const target = event.target ?? '';
  return h(
    'tr',
    {},
    cell(String(event.seq), 'num'),
    cell(utc(event.occurred_at), 'nowrap'),
    cell(who(event.actor)),
    cell(event.action),
    cell(event.action.startsWith('key.') ? who(target) : target),
    cell(h('code', { text: event.details === null ? '' : JSON.stringify(event.details) })),
  );
}

/** First page (`more` false) or the next one after the last seq shown. */
async function loadAudit(more: boolean): Promise<void> {
  const from = byId<HTMLInputElement>('audit-from').value;
  const action = byId<HTMLSelectElement>('audit-action').value;
  const page = await getJson<List<AuditEvent>>('/audit', {
    from: from || undefined,
    action: action || undefined,
    after: more && auditAfter !== null ? auditAfter : undefined,
    limit: AUDIT_PAGE,
  });
  const table = byId<HTMLTableElement>('audit-table');
  const rows = page.data.map(auditRow);
  if (more) table.tBodies[0]!.append(...rows);
  else fillTable(table, rows, 'No audit events match.');
  auditAfter = page.data.at(-1)?.seq ?? auditAfter;
  byId('audit-more').hidden = !page.has_more;
}

export const compliancePage: ConsolePage = {
  init() {
    renderReports();
    const form = byId<HTMLFormElement>('audit-form');
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void busy(form.querySelector('button[type="submit"]'), 'Loading the audit log failed', async () => {
        await Promise.all([loadVerify(), loadAudit(false)]);
      });
    });
    const more = byId<HTMLButtonElement>('audit-more');
    more.addEventListener(
      'click',
      () => void busy(more, 'Loading the audit log failed', () => loadAudit(true)),
    );
  },
  async show(state) {
    renderConfig(state);
    await getJson<List<KeyRecord>>('/keys')
      .then((keys) => (keyNames = new Map(keys.data.map((key) => [key.id, key.name]))))
      .catch(() => undefined); // without names the audit log shows key ids
    const parts: [string, () => Promise<void>][] = [
      ['Loading residency status failed', loadResidency],
      ['Verifying the audit chain failed', loadVerify],
      ['Loading the audit log failed', () => loadAudit(false)],
    ];
    await Promise.all(
      parts.map(([context, load]) => load().catch((error: unknown) => showError(error, context))),
    );
  },
};
