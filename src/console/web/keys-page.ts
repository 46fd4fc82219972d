// Keys: the list (admin and dpo), and for admins creating a key (shown once, with a copy button) and revoking
// one after a confirmation dialog.
import { loadAccounts } from './accounts-page.js';
import { getJson, sendJson } from './api.js';
import { byId, cell, fillTable, h } from './dom.js';
import { num, optionalInt, utc } from './format.js';
import type { ConsolePage, ConsoleState } from './page.js';
import { announce, busy, showError } from './status.js';
import type { CreatedKey, KeyRecord, List } from './types.js';

let state: ConsoleState | null = null;
let keys: KeyRecord[] = [];
let revoking: { key: KeyRecord; button: HTMLButtonElement } | null = null;

const isActive = (key: KeyRecord) =>
  key.revoked_at === null && (key.expires_at === null || new Date(key.expires_at) > new Date());

function limits(key: KeyRecord): string {
  const parts = [
    key.rpm === null ? '' : `${num(key.rpm)} rpm`,
    key.tpm === null ? '' : `${num(key.tpm)} tpm`,
    key.monthly_tokens === null ? '' : `${num(key.monthly_tokens)} tokens/month`,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'none';
}

function statusOf(key: KeyRecord): HTMLElement {
  if (key.revoked_at !== null)
    return h('span', { class: 'badge bad', text: `revoked ${utc(key.revoked_at)}` });
  if (!isActive(key)) return h('span', { class: 'badge neutral', text: 'expired' });
  return h('span', { class: 'badge ok', text: 'active' });
}

function row(key: KeyRecord): HTMLTableRowElement {
  const actions = h('td', { attrs: { 'data-admin-only': '' } });
  if (state?.session.role === 'admin' && key.revoked_at === null) {
    const button = h('button', {
      class: 'danger small',
      text: 'Revoke',
      attrs: { type: 'button', 'aria-label': `Revoke key ${key.name} (${key.prefix})` },
    });
    button.addEventListener('click', () => confirmRevoke(key, button));
    actions.append(button);
  }
  const tr = h(
    'tr',
    { attrs: { 'data-key-id': key.id } },
    cell(key.name),
    cell(h('code', { class: 'nowrap', text: key.prefix })),
    cell(key.role),
    cell(key.account ?? ''),
    cell(key.models === null ? 'all' : key.models.join(', ')),
    cell(limits(key)),
    cell(key.expires_at === null ? 'never' : utc(key.expires_at)),
    cell(utc(key.created_at)),
    cell(statusOf(key)),
  );
  if (state?.session.role === 'admin') tr.append(actions);
  return tr;
}

function render(): void {
  const showAll = byId<HTMLInputElement>('keys-show-revoked').checked;
  const shown = keys.filter((key) => showAll || isActive(key));
  fillTable(
    byId<HTMLTableElement>('keys-table'),
    shown.map(row),
    showAll ? 'No keys yet.' : 'No active keys.',
  );
}

async function load(): Promise<void> {
  keys = (await getJson<List<KeyRecord>>('/keys')).data;
  render();
}

function renderModelChoices(current: ConsoleState): void {
  const list = byId('key-models-list');
  const models = current.config.config.models ?? [];
  list.replaceChildren(
    ...models.map((model, index) => {
      const id = `key-model-${index}`;
      const box = h('input', { attrs: { type: 'checkbox', id, value: model.id, name: 'models' } });
      return h('div', {}, box, ' ', h('label', { text: model.id, attrs: { for: id } }));
    }),
  );
}

async function create(form: HTMLFormElement): Promise<void> {
  const body: Record<string, unknown> = { name: byId<HTMLInputElement>('key-name').value.trim() };
  body.role = byId<HTMLSelectElement>('key-role').value;
  const account = byId<HTMLInputElement>('key-account').value.trim();
  if (account) body.account = account;
  const models = [...form.querySelectorAll<HTMLInputElement>('input[name="models"]:checked')].map(
    (b) => b.value,
  );
  if (models.length) body.models = models;
  const limitFields = [
    ['rpm', 'key-rpm'],
    ['tpm', 'key-tpm'],
    ['monthly_tokens', 'key-monthly'],
  ] as const;
  for (const [field, id] of limitFields) {
    const value = optionalInt(byId<HTMLInputElement>(id));
    if (value !== null) body[field] = value;
  }
  const expires = byId<HTMLInputElement>('key-expires').value;
  if (expires) body.expires_at = new Date(expires).toISOString();
  const created = await sendJson<CreatedKey>('POST', '/keys', body);
  form.reset();
  showCreated(created);
  await load();
}

function showCreated(created: CreatedKey): void {
  byId('created-key-name').textContent = `${created.name} (${created.prefix})`;
  byId<HTMLInputElement>('created-key-value').value = created.key;
  byId('created-key').hidden = false;
  byId('created-key-copy').focus();
  announce(`Key ${created.name} created. Copy it now: it is shown only once.`);
}

/** Forgets the shown key (Done, sign-out, leaving the page). */
export function hideCreatedKey(): void {
  byId<HTMLInputElement>('created-key-value').value = '';
  byId('created-key-name').textContent = '';
  byId('created-key').hidden = true;
}

async function copyCreated(): Promise<void> {
  const input = byId<HTMLInputElement>('created-key-value');
  try {
    await navigator.clipboard.writeText(input.value);
    announce('Key copied to the clipboard.');
  } catch {
    input.focus();
    input.select();
    announce('The clipboard is not available here: the key is selected, copy it with Ctrl+C.');
  }
}

function confirmRevoke(key: KeyRecord, button: HTMLButtonElement): void {
  revoking = { key, button };
  byId('revoke-text').textContent =
    `Key "${key.name}" (${key.prefix}, role ${key.role}) will stop working on every replica within a second. ` +
    'This cannot be undone.';
  byId<HTMLDialogElement>('revoke-dialog').showModal();
  byId('revoke-cancel').focus();
}

async function revokeConfirmed(): Promise<void> {
  const dialog = byId<HTMLDialogElement>('revoke-dialog');
  const target = revoking;
  dialog.close();
  if (!target) return;
  await busy(byId<HTMLButtonElement>('revoke-confirm'), 'Revoking failed', async () => {
    await sendJson('DELETE', `/keys/${encodeURIComponent(target.key.id)}`);
    await load();
    announce(`Key ${target.key.name} (${target.key.prefix}) revoked.`);
    byId('keys-list-heading').focus();
  });
}

export const keysPage: ConsolePage = {
  init() {
    const form = byId<HTMLFormElement>('create-key-form');
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void busy(form.querySelector('button[type="submit"]'), 'Creating the key failed', () => create(form));
    });
    byId('created-key-copy').addEventListener('click', () => void copyCreated());
    byId('created-key-done').addEventListener('click', () => {
      hideCreatedKey();
      byId('key-name').focus();
    });
    byId('keys-show-revoked').addEventListener('change', render);
    byId('keys-list-heading').setAttribute('tabindex', '-1');
    byId('revoke-cancel').addEventListener('click', () => byId<HTMLDialogElement>('revoke-dialog').close());
    byId('revoke-confirm').addEventListener('click', () => void revokeConfirmed());
    byId<HTMLDialogElement>('revoke-dialog').addEventListener('close', () => {
      if (revoking?.button.isConnected) revoking.button.focus();
    });
  },
  async show(current) {
    state = current;
    renderModelChoices(current);
    loadAccounts().catch(() => undefined); // only the account field's suggestions
    try {
      await load();
    } catch (error) {
      showError(error, 'Loading keys failed');
    }
  },
};
