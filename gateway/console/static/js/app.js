// The console's pages: sign-in, buckets, objects (breadcrumbs, paging, details, download,
// delete, share, upload) and share links. Routes live in the URL hash:
//   #/                   buckets
//   #/b/<bucket>/<prefix>  a bucket's folder (both parts URI-encoded)
//   #/shares             share links
//   #/settings/<bucket>  a bucket's settings (settings.js)
//   #/iam/...            the account's IAM users, groups and policies (iam.js)
//   #/admin/...          accounts and usage, for the administrator (admin.js)
import { installAdmin, openAdmin } from './admin.js';
import * as api from './api.js';
import { childText, elements } from './api.js';
import { installIam, openIam } from './iam.js';
import { decorateRows, installSelection } from './selection.js';
import { installSettings, openSettings } from './settings.js';
import { createUploader, forgetUploads } from './upload.js';
import { installVersions, showVersions } from './versions.js';

const PAGE_SIZE = 100;
const $ = (id) => document.getElementById(id);
const state = { who: null, bucket: null, prefix: '', tokens: [], next: null, selected: null, uppy: null };

// -- messages ---------------------------------------------------------------------------------

function showError(message) {
  const box = $('message');
  box.textContent = message;
  box.hidden = false;
}

function clearError() {
  $('message').hidden = true;
  $('message').textContent = '';
}

function notify(text) {
  $('notice').textContent = text;
}

// Every failure is shown in words; a session that ended goes back to sign-in.
async function guarded(action) {
  clearError();
  try {
    return await action();
  } catch (err) {
    if (err instanceof api.ConsoleError && err.signedOut) {
      signedOut('Your session has ended: sign in again.');
      return undefined;
    }
    showError(err instanceof Error ? err.message : String(err));
    return undefined;
  }
}

// -- formatting -------------------------------------------------------------------------------

function formatSize(bytes) {
  const n = Number(bytes);
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function formatDate(value) {
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'onclick') node.addEventListener('click', value);
    else if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function baseName(key) {
  const trimmed = key.endsWith('/') ? key.slice(0, -1) : key;
  return trimmed.slice(trimmed.lastIndexOf('/') + 1) || key;
}

// -- routing ----------------------------------------------------------------------------------

function folderHash(bucket, prefix) {
  return `#/b/${encodeURIComponent(bucket)}/${encodeURIComponent(prefix)}`;
}

function show(viewId) {
  for (const id of ['buckets-view', 'objects-view', 'shares-view', 'settings-view', 'iam-view', 'admin-view']) {
    $(id).hidden = id !== viewId;
  }
}

async function route() {
  if (!state.who) return;
  const hash = location.hash || '#/';
  const folder = hash.match(/^#\/b\/([^/]+)\/(.*)$/);
  const settings = hash.match(/^#\/settings\/([^/]+)$/);
  if (settings) {
    show('settings-view');
    await openSettings(decodeURIComponent(settings[1]));
  } else if (folder) {
    await openFolder(decodeURIComponent(folder[1]), decodeURIComponent(folder[2]));
  } else if (hash.startsWith('#/iam/') && state.who.accountOwner) {
    show('iam-view');
    await guarded(() => openIam(hash));
    focusTitle('iam-title');
  } else if (hash.startsWith('#/admin/') && state.who.admin) {
    show('admin-view');
    await guarded(() => openAdmin(hash));
    focusTitle('admin-title');
  } else if (hash === '#/shares') {
    show('shares-view');
    await guarded(loadShares);
  } else {
    show('buckets-view');
    await guarded(loadBuckets);
  }
}

function focusTitle(id) {
  const title = $(id);
  if (title) title.focus();
}

// -- session ----------------------------------------------------------------------------------

function signedIn(who) {
  state.who = who;
  $('sign-in-view').hidden = true;
  $('app-view').hidden = false;
  $('whoami').hidden = false;
  let name = who.iamUser ? `${who.iamUser} (account ${who.account})` : `account ${who.account}`;
  if (who.role) name = `${who.roleSession} with role ${who.role} (account ${who.account})`;
  $('who').textContent = `Signed in as ${name}, key ${who.accessKey}`;
  // Pages the key may use (the servers refuse the others whatever is shown).
  for (const link of document.querySelectorAll('.owner-only')) link.hidden = !who.accountOwner;
  for (const link of document.querySelectorAll('.admin-only')) link.hidden = !who.admin;
  // Now, whatever the page: an upload a reload interrupted resumes (upload.js).
  ensureUploader();
}

function signedOut(message) {
  state.who = null;
  if (state.uppy) { state.uppy.destroy(); state.uppy = null; }
  $('app-view').hidden = true;
  $('whoami').hidden = true;
  $('sign-in-view').hidden = false;
  $('secret-key').value = '';
  if (message) showError(message);
  $('access-key').focus();
}

async function onSignIn(event) {
  event.preventDefault();
  const accessKey = $('access-key').value.trim();
  const secretKey = $('secret-key').value;
  await guarded(async () => {
    const who = await api.signIn(accessKey, secretKey);
    $('secret-key').value = '';
    signedIn(who);
    notify('Signed in.');
    $('main').focus();
    await route();
  });
}

async function onSignOut() {
  await guarded(async () => {
    // Signing out cancels the uploads in progress (aborted on the server while the
    // session still lets us) and forgets the bytes kept for a resume (upload.js), so the
    // next person at this browser finds none of them.
    if (state.uppy) {
      state.uppy.cancelAll();
      state.uppy.destroy();
      state.uppy = null;
      forgetUploads();
    }
    await api.signOut();
    signedOut();
    notify('Signed out.');
  });
}

// -- buckets ----------------------------------------------------------------------------------

async function loadBuckets() {
  const { xml } = await api.s3('ListBuckets');
  const rows = $('bucket-rows');
  rows.replaceChildren();
  const buckets = elements(xml, 'Bucket');
  if (buckets.length === 0) {
    rows.append(el('tr', {}, el('td', { colspan: '2', text: 'No buckets yet: create one above.' })));
  }
  for (const bucket of buckets) {
    const name = childText(bucket, 'Name');
    rows.append(el('tr', {},
      el('td', {}, el('a', { href: folderHash(name, ''), text: name })),
      el('td', { text: formatDate(childText(bucket, 'CreationDate')) })));
  }
}

async function onCreateBucket(event) {
  event.preventDefault();
  const name = $('new-bucket').value.trim();
  await guarded(async () => {
    await api.s3('CreateBucket', { bucket: name });
    $('new-bucket').value = '';
    notify(`Bucket ${name} created.`);
    await loadBuckets();
  });
}

// -- objects ----------------------------------------------------------------------------------

function renderBreadcrumbs() {
  const list = $('breadcrumbs');
  list.replaceChildren(el('li', {}, el('a', { href: '#/', text: 'Buckets' })));
  const parts = state.prefix.split('/').filter((p, i, all) => i < all.length - 1 || p);
  const crumbs = [[state.bucket, '']];
  let path = '';
  for (const part of parts) { path += `${part}/`; crumbs.push([part, path]); }
  crumbs.forEach(([label, prefix], index) => {
    const last = index === crumbs.length - 1;
    const link = el('a', { href: folderHash(state.bucket, prefix), text: label });
    if (last) link.setAttribute('aria-current', 'page');
    list.append(el('li', {}, link));
  });
  $('objects-title').textContent = state.prefix ? `${state.bucket}/${state.prefix}` : state.bucket;
  $('upload-target').textContent = `Uploads go to ${state.bucket}/${state.prefix}`;
  $('settings-link').href = `#/settings/${encodeURIComponent(state.bucket)}`;
}

async function openFolder(bucket, prefix) {
  show('objects-view');
  const moved = bucket !== state.bucket || prefix !== state.prefix;
  state.bucket = bucket;
  state.prefix = prefix;
  if (moved) { state.tokens = []; closeDetails(); }
  renderBreadcrumbs();
  ensureUploader();
  await guarded(() => loadPage(state.tokens[state.tokens.length - 1] || null));
}

async function loadPage(token) {
  const params = { delimiter: '/', 'max-keys': String(PAGE_SIZE) };
  if (state.prefix) params.prefix = state.prefix;
  if (token) params['continuation-token'] = token;
  const { xml } = await api.s3('ListObjectsV2', { bucket: state.bucket, params });
  const rows = $('object-rows');
  rows.replaceChildren();
  for (const common of elements(xml, 'CommonPrefixes')) {
    const prefix = childText(common, 'Prefix');
    rows.append(el('tr', { 'data-key': prefix },
      el('td', {}, el('a', { href: folderHash(state.bucket, prefix), text: `${baseName(prefix)}/` })),
      el('td', { text: 'folder' }), el('td'), el('td')));
  }
  for (const item of elements(xml, 'Contents')) {
    const key = childText(item, 'Key');
    if (key === state.prefix) continue; // the folder's own marker object
    const name = baseName(key);
    rows.append(el('tr', { 'data-key': key },
      el('td', { text: name }),
      el('td', { text: formatSize(childText(item, 'Size')) }),
      el('td', { text: formatDate(childText(item, 'LastModified')) }),
      el('td', { class: 'actions' },
        el('button', { type: 'button', 'aria-label': `Details of ${name}`, onclick: () => guarded(() => showDetails(key)), text: 'Details' }),
        el('button', { type: 'button', 'aria-label': `Download ${name}`, onclick: () => guarded(() => download(key)), text: 'Download' }),
        el('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${name}`, onclick: () => guarded(() => remove(key)), text: 'Delete' }))));
  }
  if (!rows.children.length) {
    rows.append(el('tr', {}, el('td', { colspan: '4', text: 'This folder is empty.' })));
  }
  const truncated = elements(xml, 'IsTruncated')[0];
  const next = elements(xml, 'NextContinuationToken')[0];
  state.next = truncated && truncated.textContent === 'true' && next ? next.textContent : null;
  $('next-page').hidden = !state.next;
  $('first-page').hidden = state.tokens.length === 0;
  decorateRows();
}

async function nextPage() {
  if (!state.next) return;
  state.tokens.push(state.next);
  await guarded(() => loadPage(state.next));
}

async function firstPage() {
  state.tokens = [];
  await guarded(() => loadPage(null));
}

async function download(key) {
  const disposition = `attachment; filename*=UTF-8''${encodeURIComponent(baseName(key))}`;
  const { url } = await api.presign('GetObject', state.bucket, key, { 'response-content-disposition': disposition });
  const link = el('a', { href: url, download: baseName(key) });
  document.body.append(link);
  link.click();
  link.remove();
  notify(`Downloading ${baseName(key)}.`);
}

async function remove(key) {
  if (!window.confirm(`Delete ${key} from ${state.bucket}?`)) return;
  await api.s3('DeleteObject', { bucket: state.bucket, key });
  if (state.selected === key) closeDetails();
  notify(`Deleted ${key}.`);
  await loadPage(state.tokens[state.tokens.length - 1] || null);
}

async function showDetails(key) {
  const { response } = await api.s3('HeadObject', { bucket: state.bucket, key });
  state.selected = key;
  const list = $('details-list');
  list.replaceChildren();
  const add = (term, value) => { if (value !== null && value !== '') list.append(el('dt', { text: term }), el('dd', { text: value })); };
  const h = (name) => response.headers.get(name);
  add('Bucket', state.bucket);
  add('Key', key);
  add('Size', `${formatSize(h('content-length'))} (${h('content-length')} bytes)`);
  add('Type', h('content-type'));
  add('ETag', h('etag'));
  add('Last modified', h('last-modified') && formatDate(h('last-modified')));
  add('Version', h('x-amz-version-id'));
  add('Storage class', h('x-amz-storage-class') || 'STANDARD');
  add('Retention', h('x-amz-object-lock-mode') && `${h('x-amz-object-lock-mode')} until ${h('x-amz-object-lock-retain-until-date')}`);
  add('Legal hold', h('x-amz-object-lock-legal-hold'));
  for (const [name, value] of response.headers) {
    if (name.startsWith('x-amz-meta-')) add(`Metadata ${name.slice(11)}`, value);
  }
  try {
    const { xml } = await api.s3('GetObjectTagging', { bucket: state.bucket, key });
    const tags = elements(xml, 'Tag').map((t) => `${childText(t, 'Key')}=${childText(t, 'Value')}`);
    add('Tags', tags.length ? tags.join(', ') : 'none');
  } catch (err) {
    add('Tags', `not shown: ${err.message}`);
  }
  $('share-result').hidden = true;
  $('details-title').textContent = `Details of ${baseName(key)}`;
  $('details').hidden = false;
  $('details-title').focus();
  await showVersions(state.bucket, key);
}

function closeDetails() {
  state.selected = null;
  $('details').hidden = true;
}

async function onShare(event) {
  event.preventDefault();
  const key = state.selected;
  if (!key) return;
  await guarded(async () => {
    const link = await api.shares.create(state.bucket, key, $('share-expires').value);
    $('share-url').value = link.url;
    $('share-result').hidden = false;
    $('share-url').focus();
    $('share-url').select();
    notify(`Share link created for ${key}; it expires ${formatDate(link.expires)}.`);
  });
}

async function onCopyShare() {
  await guarded(async () => {
    await navigator.clipboard.writeText($('share-url').value);
    notify('Share link copied.');
  });
}

// -- uploads ----------------------------------------------------------------------------------

function ensureUploader() {
  if (state.uppy) return;
  const progress = $('upload-progress');
  state.uppy = createUploader('#uploader', {
    location: () => ({ bucket: state.bucket, prefix: state.prefix }),
    onProgress: (percent) => {
      progress.value = percent;
      progress.dataset.events = String(Number(progress.dataset.events) + 1);
      $('upload-status').textContent = `Uploading: ${percent}%`;
    },
    onUploaded: (name) => {
      $('upload-status').textContent = `Upload complete: ${name}`;
      guarded(() => loadPage(state.tokens[state.tokens.length - 1] || null));
    },
    onError: (name, words) => {
      const message = name ? `Upload of ${name} refused: ${words}` : `Upload failed: ${words}`;
      $('upload-status').textContent = message;
      showError(message);
    },
  });
}

// -- share links ------------------------------------------------------------------------------

async function loadShares() {
  const { shares } = await api.shares.list();
  const rows = $('share-rows');
  rows.replaceChildren();
  if (shares.length === 0) rows.append(el('tr', {}, el('td', { colspan: '5', text: 'No share links.' })));
  for (const link of shares) {
    const target = `${link.bucket}/${link.key}`;
    const limit = link.maxDownloads === null ? '' : ` of ${link.maxDownloads}`;
    const actions = el('td', { class: 'actions' });
    if (link.state === 'active') {
      actions.append(el('button', {
        type: 'button', class: 'danger', 'aria-label': `Revoke the link to ${target}`, text: 'Revoke',
        onclick: () => guarded(async () => {
          await api.shares.revoke(link.id);
          notify(`Link to ${target} revoked.`);
          await loadShares();
        }),
      }));
    }
    rows.append(el('tr', { 'data-link': link.id },
      el('td', { text: target }), el('td', { text: link.state }),
      el('td', { text: formatDate(link.expires) }),
      el('td', { text: `${link.downloads}${limit}` }), actions));
  }
}

// -- single sign-on ---------------------------------------------------------------------------

// Why a sign-in through the provider failed: the gateway names a reason (sso.py), never text.
const SSO_ERRORS = {
  disabled: 'Single sign-on is not set up on this gateway.',
  state: 'The single sign-on did not match a sign-in started here, or took too long: try again.',
  provider: 'The identity provider did not sign you in (refused or cancelled).',
  token: 'The identity provider\'s ID token could not be verified.',
  denied: 'Your identity is not allowed to assume the console\'s role.',
  unreachable: 'The identity provider could not be reached.',
};

function ssoError() {
  const params = new URLSearchParams(window.location.search);
  const reason = params.get('sso_error');
  if (reason === null) return null;
  // Drop it from the address, so a reload does not say it again.
  window.history.replaceState(null, '', window.location.pathname + window.location.hash);
  return SSO_ERRORS[reason] || 'Single sign-on failed.';
}

async function showSso() {
  const enabled = await guarded(api.ssoEnabled);
  $('sso').hidden = !enabled;
}

// -- start ------------------------------------------------------------------------------------

async function start() {
  $('sign-in-form').addEventListener('submit', onSignIn);
  $('sign-out').addEventListener('click', onSignOut);
  $('create-bucket-form').addEventListener('submit', onCreateBucket);
  $('next-page').addEventListener('click', nextPage);
  $('first-page').addEventListener('click', firstPage);
  $('details-close').addEventListener('click', closeDetails);
  $('details-download').addEventListener('click', () => guarded(() => download(state.selected)));
  $('details-delete').addEventListener('click', () => guarded(() => remove(state.selected)));
  $('share-form').addEventListener('submit', onShare);
  $('share-copy').addEventListener('click', onCopyShare);
  const context = {
    el, guarded, notify, formatSize, formatDate, baseName, closeDetails, who: () => state.who,
    location: () => ({ bucket: state.bucket, prefix: state.prefix }),
    reload: () => loadPage(state.tokens[state.tokens.length - 1] || null),
  };
  installVersions(context);
  installSelection(context);
  installSettings(context);
  installIam(context);
  installAdmin(context);
  window.addEventListener('hashchange', route);
  const who = await guarded(api.whoAmI);
  await showSso();
  if (who) {
    signedIn(who);
    await route();
  } else {
    signedOut(ssoError());
  }
  document.body.dataset.ready = 'true';
}

start();
