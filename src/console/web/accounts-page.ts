// Accounts: their shared limits (admin and dpo), and for admins setting them (PUT /admin/v1/accounts/{name}).
import { getJson, sendJson } from './api.js';
import { byId, cell, fillTable, h } from './dom.js';
import { num, optionalInt, utc } from './format.js';
import type { ConsolePage } from './page.js';
import { announce, busy, showError } from './status.js';
import type { Account, List } from './types.js';

let accounts: Account[] = [];

const limit = (value: number | null) => (value === null ? 'none' : num(value));

function render(): void {
  const rows = accounts.map((account) =>
    h(
      'tr',
      {},
      cell(account.name),
      cell(num(account.active_keys), 'num'),
      cell(limit(account.rpm), 'num'),
      cell(limit(account.tpm), 'num'),
      cell(limit(account.monthly_tokens), 'num'),
      cell(utc(account.created_at)),
    ),
  );
  fillTable(
    byId<HTMLTableElement>('accounts-table'),
    rows,
    'No accounts yet: creating a key creates its account.',
  );
  byId('account-names').replaceChildren(...accounts.map((a) => h('option', { attrs: { value: a.name } })));
}

/** Choosing a known account fills in its current limits, so saving changes only what was edited. */
function fillKnownLimits(): void {
  const account = accounts.find((a) => a.name === byId<HTMLInputElement>('account-name').value);
  if (!account) return;
  byId<HTMLInputElement>('account-rpm').value = account.rpm === null ? '' : String(account.rpm);
  byId<HTMLInputElement>('account-tpm').value = account.tpm === null ? '' : String(account.tpm);
  byId<HTMLInputElement>('account-monthly').value =
    account.monthly_tokens === null ? '' : String(account.monthly_tokens);
}

/** Loads the list (also used by the keys form's account suggestions). */
export async function loadAccounts(): Promise<void> {
  accounts = (await getJson<List<Account>>('/accounts')).data;
  render();
}

async function save(form: HTMLFormElement): Promise<void> {
  const name = byId<HTMLInputElement>('account-name').value.trim();
  const saved = await sendJson<Account>('PUT', `/accounts/${encodeURIComponent(name)}`, {
    rpm: optionalInt(byId<HTMLInputElement>('account-rpm')),
    tpm: optionalInt(byId<HTMLInputElement>('account-tpm')),
    monthly_tokens: optionalInt(byId<HTMLInputElement>('account-monthly')),
  });
  form.reset();
  await loadAccounts();
  announce(`Limits of account ${saved.name} saved.`);
}

export const accountsPage: ConsolePage = {
  init() {
    const form = byId<HTMLFormElement>('account-limits-form');
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void busy(form.querySelector('button[type="submit"]'), 'Saving the limits failed', () => save(form));
    });
    byId('account-name').addEventListener('change', fillKnownLimits);
  },
  async show() {
    try {
      await loadAccounts();
    } catch (error) {
      showError(error, 'Loading accounts failed');
    }
  },
};
