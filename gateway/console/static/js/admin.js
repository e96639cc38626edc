// The administrator's pages (the root account's own keys; the admin API refuses anyone
// else, and the pages are not offered to them):
//   #/admin/accounts   accounts: create (its first key shown once), keys (create, shown
//                      once; deactivate and activate; delete), delete
//   #/admin/usage      per bucket and per account: objects, bytes, quota use; an
//                      account's quota (quota.js)
import * as api from './api.js';
import { describeQuota, quotaForm } from './quota.js';

let ui = null;
let accountQuota = null;
const $ = (id) => document.getElementById(id);

export function installAdmin(context) {
  ui = context;
  accountQuota = quotaForm(context, 'account-quota', 'Account quota');
}

function view() {
  return $('admin-view');
}

export async function openAdmin(hash) {
  if (hash === '#/admin/usage') await showUsage();
  else await showAccounts();
}

function shownOnce(made) {
  const { el } = ui;
  return el('div', { id: 'account-key-shown', class: 'shown-once', role: 'status' },
    el('p', { text: `Account ${made.name || made.account}: access key ${made.accessKey}. Copy its secret key now: it is shown this once only.` }),
    el('label', { for: 'account-key-secret', text: 'Secret key (shown once)' }),
    el('input', { id: 'account-key-secret', readonly: '', value: made.secretKey, spellcheck: 'false' }));
}

function button(text, label, action, danger = false) {
  const attrs = { type: 'button', text, 'aria-label': label, onclick: () => ui.guarded(action) };
  if (danger) attrs.class = 'danger';
  return ui.el('button', attrs);
}

async function showAccounts(made = null) {
  const { el } = ui;
  const { accounts } = await api.admin.get('/accounts');
  const rows = accounts.map((account) => {
    const keys = el('ul', { class: 'keys' }, ...account.keys.map((key) => el('li', { 'data-key': key.accessKey },
      `${key.accessKey}${key.active ? '' : ' (inactive)'} `,
      button(key.active ? 'Deactivate' : 'Activate', `${key.active ? 'Deactivate' : 'Activate'} key ${key.accessKey} of ${account.name}`, async () => {
        const path = `/accounts/${encodeURIComponent(account.name)}/keys/${encodeURIComponent(key.accessKey)}`;
        await api.admin.patch(path, { active: !key.active });
        ui.notify(`Key ${key.accessKey} ${key.active ? 'deactivated' : 'activated'}.`);
        await showAccounts();
      }),
      button('Delete', `Delete key ${key.accessKey} of ${account.name}`, async () => {
        if (!window.confirm(`Delete the access key ${key.accessKey}? Whatever uses it stops working.`)) return;
        await api.admin.remove(`/accounts/${encodeURIComponent(account.name)}/keys/${encodeURIComponent(key.accessKey)}`);
        ui.notify(`Key ${key.accessKey} deleted.`);
        await showAccounts();
      }, true))));
    const actions = el('td', { class: 'actions' },
      button('New key', `New key for ${account.name}`, async () => {
        await showAccounts(await api.admin.post(`/accounts/${encodeURIComponent(account.name)}/keys`));
      }));
    if (!account.isRoot) {
      actions.append(button('Delete', `Delete account ${account.name}`, async () => {
        if (!window.confirm(`Delete the account ${account.name} and its keys?`)) return;
        await api.admin.remove(`/accounts/${encodeURIComponent(account.name)}`);
        ui.notify(`Account ${account.name} deleted.`);
        await showAccounts();
      }, true));
    }
    return el('tr', { 'data-account': account.name },
      el('td', { text: account.isRoot ? `${account.name} (administrator)` : account.name }),
      el('td', { text: account.accountId }),
      el('td', {}, keys),
      actions);
  });
  const form = el('form', { id: 'create-account-form', class: 'inline-form' },
    el('label', { for: 'new-account', text: 'New account name' }),
    el('input', { id: 'new-account', required: '', spellcheck: 'false' }),
    el('label', { for: 'new-account-email', text: 'E-mail (optional)' }),
    el('input', { id: 'new-account-email', type: 'email' }),
    el('button', { type: 'submit', text: 'Create account' }));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    ui.guarded(async () => {
      const email = $('new-account-email').value.trim();
      const body = { name: $('new-account').value.trim() };
      if (email) body.email = email;
      const created = await api.admin.post('/accounts', body);
      ui.notify(`Account ${created.name} created.`);
      await showAccounts(created);
    });
  });
  view().replaceChildren(
    el('h2', { id: 'admin-title', tabindex: '-1', text: 'Accounts' }),
    form,
    made ? shownOnce(made) : '',
    el('table', { class: 'listing admin' },
      el('caption', { class: 'visually-hidden', text: 'Accounts' }),
      el('thead', {}, el('tr', {}, ...['Account', 'Account id', 'Access keys', 'Actions'].map((h) => el('th', { scope: 'col', text: h })))),
      el('tbody', {}, ...rows)));
  if (made) $('account-key-secret').focus();
}

function quotaCell(row) {
  return describeQuota(row, ui.formatSize);
}

async function showUsage() {
  const { el } = ui;
  const usage = await api.admin.get('/usage');
  const head = (...names) => el('thead', {}, el('tr', {}, ...names.map((h) => el('th', { scope: 'col', text: h }))));
  const buckets = usage.buckets.map((row) => el('tr', { 'data-bucket': row.bucket },
    el('td', {}, el('a', { href: `#/settings/${encodeURIComponent(row.bucket)}`, text: row.bucket })),
    el('td', { text: row.owner }),
    el('td', { text: quotaCell(row) })));
  const accounts = usage.accounts.map((row) => el('tr', { 'data-account': row.account },
    el('td', { text: row.account }),
    el('td', { text: String(row.buckets) }),
    el('td', { text: quotaCell(row) })));
  const choose = el('select', { id: 'quota-account' },
    ...usage.accounts.map((row) => el('option', { value: row.account, text: row.account })));
  choose.addEventListener('change', () => ui.guarded(() => accountQuota.load('account', choose.value)));
  // Loaded before it is shown: nothing typed into it is overwritten by a late answer.
  if (usage.accounts.length) await accountQuota.load('account', usage.accounts[0].account);
  view().replaceChildren(
    el('h2', { id: 'admin-title', tabindex: '-1', text: 'Usage' }),
    el('h3', { text: 'Accounts' }),
    el('table', { class: 'listing admin' },
      el('caption', { class: 'visually-hidden', text: 'Usage per account' }),
      head('Account', 'Buckets', 'Use and quota'), el('tbody', {}, ...accounts)),
    el('h3', { text: 'Buckets' }),
    el('table', { class: 'listing admin' },
      el('caption', { class: 'visually-hidden', text: 'Usage per bucket' }),
      head('Bucket', 'Owner', 'Use and quota'),
      el('tbody', {}, ...(buckets.length ? buckets : [el('tr', {}, el('td', { colspan: '3', text: 'No buckets.' }))]))),
    el('div', { class: 'field' }, el('label', { for: 'quota-account', text: 'Set the quota of account' }), choose),
    accountQuota.form);
}
