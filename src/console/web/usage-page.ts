// Usage: GET /admin/v1/usage over a chosen range of UTC days, grouped by day, model, account or key, as
// charts, totals and a table; the same query as CSV through the API's own csv format.
import { download, getJson } from './api.js';
import { barChart, columnChart, lineChart, type Point } from './charts.js';
import { byId, cell, fillTable, h } from './dom.js';
import { addDays, day, daysBetween, num } from './format.js';
import type { ConsolePage } from './page.js';
import { announce, busy, showError } from './status.js';
import type { GroupBy, UsageAnswer, UsageRow } from './types.js';

const GROUP_NAMES: Record<GroupBy, string> = { day: 'Day', model: 'Model', account: 'Account', key: 'Key' };

interface Range {
  from: string;
  /** Inclusive, as picked; the API's `to` is the day after. */
  to: string;
  groupBy: GroupBy;
}

function currentRange(): Range {
  return {
    from: byId<HTMLInputElement>('usage-from').value,
    to: byId<HTMLInputElement>('usage-to').value,
    groupBy: byId<HTMLSelectElement>('usage-group').value as GroupBy,
  };
}

function query(range: Range): Record<string, string> {
  if (!range.from || !range.to) throw new Error('Choose both days of the range.');
  if (range.to < range.from) throw new Error('The last day comes before the first.');
  return { from: range.from, to: addDays(range.to, 1), group_by: range.groupBy };
}

function labelOf(row: UsageRow, groupBy: GroupBy): string {
  switch (groupBy) {
    case 'day':
      return row.group ?? '';
    case 'model':
      return row.group ?? '(no model)';
    case 'account':
      return row.group ?? '(no account)';
    case 'key':
      return row.group === null ? '(no key)' : `${row.key_name ?? row.group} (${row.key_prefix ?? ''})`;
  }
}

/** One point per row; by day, every day of the range (days without requests are zero). */
function pointsOf(answer: UsageRow[], range: Range, value: (row: UsageRow) => number): Point[] {
  if (range.groupBy !== 'day')
    return answer.map((row) => ({
      group: row.group ?? '',
      label: labelOf(row, range.groupBy),
      value: value(row),
    }));
  const byDay = new Map(answer.map((row) => [row.group, row]));
  return daysBetween(range.from, range.to).map((d) => {
    const row = byDay.get(d);
    return { group: d, label: d, value: row ? value(row) : 0 };
  });
}

function renderCharts(rows: UsageRow[], range: Range): void {
  const per = `per ${range.groupBy}`;
  byId('usage-requests-caption').textContent = `Requests ${per}`;
  byId('usage-tokens-caption').textContent = `Tokens ${per}`;
  const requests = pointsOf(rows, range, (r) => r.requests);
  const tokens = pointsOf(rows, range, (r) => r.total_tokens);
  const requestsChart = byId('usage-requests-chart');
  const tokensChart = byId('usage-tokens-chart');
  if (requests.length === 0) {
    requestsChart.replaceChildren(h('p', { class: 'empty', text: 'No requests in this range.' }));
    tokensChart.replaceChildren(h('p', { class: 'empty', text: 'No tokens in this range.' }));
    return;
  }
  const requestOptions = { title: `Requests ${per}`, unit: 'requests', name: 'requests' };
  const tokenOptions = { title: `Tokens ${per}`, unit: 'tokens', name: 'tokens' };
  if (range.groupBy === 'day') {
    requestsChart.replaceChildren(columnChart(requests, requestOptions));
    tokensChart.replaceChildren(lineChart(tokens, tokenOptions));
  } else {
    requestsChart.replaceChildren(barChart(requests, requestOptions));
    tokensChart.replaceChildren(barChart(tokens, tokenOptions));
  }
}

function renderTotals(rows: UsageRow[]): void {
  const sum = (pick: (row: UsageRow) => number) => rows.reduce((total, row) => total + pick(row), 0);
  const totals: [string, number][] = [
    ['Requests', sum((r) => r.requests)],
    ['Errors', sum((r) => r.errors)],
    ['Prompt tokens', sum((r) => r.prompt_tokens)],
    ['Completion tokens', sum((r) => r.completion_tokens)],
    ['Total tokens', sum((r) => r.total_tokens)],
  ];
  byId('usage-totals').replaceChildren(
    ...totals.map(([label, value]) => h('div', {}, h('dt', { text: label }), h('dd', { text: num(value) }))),
  );
}

function renderTable(rows: UsageRow[], range: Range): void {
  byId('usage-group-header').textContent = GROUP_NAMES[range.groupBy];
  const lines = rows.map((row) =>
    h(
      'tr',
      {},
      cell(labelOf(row, range.groupBy)),
      cell(num(row.requests), 'num'),
      cell(num(row.errors), 'num'),
      cell(num(row.prompt_tokens), 'num'),
      cell(num(row.completion_tokens), 'num'),
      cell(num(row.total_tokens), 'num'),
      cell(num(row.audio_seconds), 'num'),
    ),
  );
  fillTable(byId<HTMLTableElement>('usage-table'), lines, 'No requests in this range.');
}

async function load(): Promise<void> {
  const range = currentRange();
  const answer = await getJson<UsageAnswer>('/usage', query(range));
  renderTotals(answer.data);
  renderCharts(answer.data, range);
  renderTable(answer.data, range);
}

async function downloadCsv(): Promise<void> {
  const range = currentRange();
  const name = await download('/usage', { ...query(range), format: 'csv' }, 'hunze-usage.csv');
  announce(`Downloaded ${name}.`);
}

export const usagePage: ConsolePage = {
  init() {
    const today = day(new Date());
    byId<HTMLInputElement>('usage-to').value = today;
    byId<HTMLInputElement>('usage-from').value = addDays(today, -29);
    const form = byId<HTMLFormElement>('usage-form');
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void busy(form.querySelector('button[type="submit"]'), 'Loading usage failed', async () => {
        await load();
        announce('Usage updated.');
      });
    });
    const csv = byId<HTMLButtonElement>('usage-csv');
    csv.addEventListener('click', () => void busy(csv, 'Download failed', downloadCsv));
  },
  async show() {
    try {
      await load();
    } catch (error) {
      showError(error, 'Loading usage failed');
    }
  },
};
