// The console's entry point: sign-in and sign-out, the role's view (dpo: read-only), and the sections,
// switched by the URL's #fragment so the browser's back button and bookmarks work.
import { getJson, whenUnauthorized } from './api.js';
import { accountsPage } from './accounts-page.js';
import { compliancePage } from './compliance-page.js';
import { byId } from './dom.js';
import { hideCreatedKey, keysPage } from './keys-page.js';
import type { ConsolePage, ConsoleState } from './page.js';
import { forgetKey, signIn, storedKey } from './session.js';
import { announce, clearMessages, showError } from './status.js';
import type { ConfigAnswer } from './types.js';
import { usagePage } from './usage-page.js';

const PAGES = { keys: keysPage, accounts: accountsPage, usage: usagePage, compliance: compliancePage };
type ViewName = keyof typeof PAGES;
const isView = (name: string): name is ViewName => Object.hasOwn(PAGES, name);

let state: ConsoleState | null = null;

function setVisible(view: ViewName | 'signin'): void {
  for (const section of document.querySelectorAll<HTMLElement>('main > section.view'))
    section.hidden = section.id !== `view-${view}`;
  for (const link of document.querySelectorAll<HTMLAnchorElement>('#nav a')) {
    if (link.dataset.view === view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

async function showView(view: ViewName, focus: boolean): Promise<void> {
  if (!state) return;
  if (view !== 'keys') hideCreatedKey();
  setVisible(view);
  document.title = `${view[0]!.toUpperCase()}${view.slice(1)} · Hunze console`;
  if (focus) byId(`${view}-heading`).focus();
  const page: ConsolePage = PAGES[view];
  await page.show(state);
}

function viewFromHash(): ViewName | null {
  const name = location.hash.slice(1);
  return isView(name) ? name : null;
}

function showSignIn(): void {
  setVisible('signin');
  document.title = 'Sign in · Hunze console';
  byId('nav').hidden = true;
  byId('who').hidden = true;
  byId('signin-key').focus();
}

/** Admin-only controls are hidden for the dpo; the API would refuse them anyway (403). */
function applyRole(current: ConsoleState): void {
  for (const element of document.querySelectorAll<HTMLElement>('[data-admin-only]'))
    element.hidden = current.session.role !== 'admin';
  byId('who-name').textContent = current.session.name;
  byId('who-role').textContent = current.session.role;
  byId('appliance-name').textContent = current.config.config.appliance?.name ?? '';
  byId('nav').hidden = false;
  byId('who').hidden = false;
}

async function start(key: string): Promise<void> {
  const session = await signIn(key);
  const config = await getJson<ConfigAnswer>('/config');
  state = { session, config };
  applyRole(state);
  const view = viewFromHash() ?? (session.role === 'dpo' ? 'compliance' : 'keys');
  if (location.hash !== `#${view}`) history.replaceState(null, '', `#${view}`);
  await showView(view, true);
}

/** Forgets the key and everything shown with it. */
function signOut(message: string): void {
  state = null;
  forgetKey();
  hideCreatedKey();
  for (const body of document.querySelectorAll('main tbody')) body.replaceChildren();
  for (const id of [
    'usage-requests-chart',
    'usage-tokens-chart',
    'usage-totals',
    'config-facts',
    'key-models-list',
  ])
    byId(id).replaceChildren();
  byId('audit-verify').textContent = '';
  byId('appliance-name').textContent = '';
  showSignIn();
  announce(message);
}

function wire(): void {
  for (const page of Object.values(PAGES)) page.init();
  const form = byId<HTMLFormElement>('signin-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId<HTMLInputElement>('signin-key');
    const key = input.value.trim();
    const button = form.querySelector('button')!;
    button.disabled = true;
    clearMessages();
    start(key)
      .then(() => {
        input.value = '';
        announce(`Signed in as ${state?.session.role ?? ''}.`);
      })
      .catch((error: unknown) => {
        forgetKey();
        state = null;
        showError(error, 'Sign-in failed');
        input.focus();
      })
      .finally(() => (button.disabled = false));
  });
  byId('sign-out').addEventListener('click', () => signOut('Signed out. The key was removed from this tab.'));
  window.addEventListener('hashchange', () => {
    const view = viewFromHash();
    if (state && view) void showView(view, true).catch((error: unknown) => showError(error));
  });
  whenUnauthorized(() => {
    if (state) signOut('The key is no longer accepted (revoked or expired). Sign in again.');
  });
}

function boot(): void {
  wire();
  const key = storedKey();
  if (!key) {
    showSignIn();
    return;
  }
  start(key).catch((error: unknown) => {
    forgetKey();
    showSignIn();
    showError(error, 'Sign-in failed');
  });
}

boot();
