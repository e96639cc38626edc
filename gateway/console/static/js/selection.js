// Folder tools of the objects view: a new folder (a zero-byte "name/" object, as S3
// consoles make them), rename and move (CopyObject, then DeleteObject of the source: S3
// has no rename), and multi-select with delete and move. A selected folder means every
// object below it.
import * as api from './api.js';
import { childText, elements } from './api.js';

let ui = null;
const $ = (id) => document.getElementById(id);

export function installSelection(context) {
  ui = context;
  const { el, guarded } = ui;
  const tools = $('folder-tools');
  tools.replaceChildren(
    el('form', { id: 'new-folder-form', class: 'inline-form' },
      el('label', { for: 'new-folder', text: 'New folder name' }),
      el('input', { id: 'new-folder', required: '', spellcheck: 'false' }),
      el('button', { type: 'submit', text: 'Create folder' })),
    el('div', { class: 'actions', role: 'group', 'aria-label': 'Selected items' },
      el('span', { id: 'selection-count', 'aria-live': 'polite', text: 'Nothing selected' }),
      el('button', { type: 'button', id: 'move-selected', disabled: '', text: 'Move selected', onclick: () => guarded(moveSelected) }),
      el('button', { type: 'button', id: 'delete-selected', class: 'danger', disabled: '', text: 'Delete selected', onclick: () => guarded(deleteSelected) })));
  // The listing's first column, for the checkboxes (a cell of its own, so that the name
  // cell's accessible name stays the object's name).
  const table = $('object-rows').closest('table');
  table.classList.add('selectable');
  const head = table.querySelector('thead tr');
  head.prepend(el('th', { scope: 'col' }, el('span', { class: 'visually-hidden', text: 'Select' })));
  $('new-folder-form').addEventListener('submit', (event) => {
    event.preventDefault();
    guarded(newFolder);
  });
}

function copySource(bucket, key) {
  return `/${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;
}

async function moveObject(bucket, from, to) {
  if (from === to) return;
  await api.s3('CopyObject', { bucket, key: to, headers: { 'x-amz-copy-source': copySource(bucket, from) } });
  await api.s3('DeleteObject', { bucket, key: from });
}

// Every key below `prefix` (a selected folder), page by page.
async function keysBelow(bucket, prefix) {
  const keys = [];
  let token = null;
  do {
    const params = { prefix, 'max-keys': '1000' };
    if (token) params['continuation-token'] = token;
    const { xml } = await api.s3('ListObjectsV2', { bucket, params });
    for (const item of elements(xml, 'Contents')) keys.push(childText(item, 'Key'));
    const next = elements(xml, 'NextContinuationToken')[0];
    token = next ? next.textContent : null;
  } while (token);
  return keys;
}

function selected() {
  return Array.from(document.querySelectorAll('#object-rows input.select:checked')).map((box) => box.value);
}

function updateCount() {
  const count = selected().length;
  $('selection-count').textContent = count ? `${count} selected` : 'Nothing selected';
  $('delete-selected').disabled = count === 0;
  $('move-selected').disabled = count === 0;
}

// Called after each page of the listing: a checkbox on every folder and object row, and a
// Rename button on each object.
export function decorateRows() {
  const { el, guarded, baseName } = ui;
  for (const row of document.querySelectorAll('#object-rows tr')) {
    const key = row.dataset.key;
    if (key === undefined) { // "This folder is empty."
      const cell = row.firstElementChild;
      cell.setAttribute('colspan', String(Number(cell.getAttribute('colspan') || 1) + 1));
      continue;
    }
    const name = baseName(key) + (key.endsWith('/') ? '/' : '');
    const box = el('input', { type: 'checkbox', class: 'select', value: key, 'aria-label': `Select ${name}` });
    box.addEventListener('change', updateCount);
    row.prepend(el('td', {}, box));
    const actions = row.querySelector('td.actions');
    if (actions && !key.endsWith('/')) {
      actions.append(el('button', {
        type: 'button', 'aria-label': `Rename or move ${name}`, text: 'Rename',
        onclick: () => guarded(() => rename(key)),
      }));
    }
  }
  updateCount();
}

async function newFolder() {
  const { bucket, prefix } = ui.location();
  const name = $('new-folder').value.trim().replace(/^\/+|\/+$/g, '');
  if (!name) return;
  const key = `${prefix}${name}/`;
  await api.s3('PutObject', { bucket, key, body: new Blob([]) });
  $('new-folder').value = '';
  ui.notify(`Folder ${name} created.`);
  await ui.reload();
}

async function rename(key) {
  const { bucket } = ui.location();
  const target = window.prompt(`New key for ${key} (a different folder moves it):`, key);
  if (target === null || !target.trim() || target.trim() === key) return;
  const to = target.trim().replace(/^\/+/, '');
  await moveObject(bucket, key, to);
  ui.closeDetails();
  ui.notify(`Renamed ${key} to ${to}.`);
  await ui.reload();
}

async function expand(bucket, items) {
  const keys = [];
  for (const item of items) {
    if (item.endsWith('/')) keys.push(...await keysBelow(bucket, item));
    else keys.push(item);
  }
  return keys;
}

async function deleteSelected() {
  const { bucket } = ui.location();
  const items = selected();
  if (!items.length) return;
  if (!window.confirm(`Delete ${items.length} selected item(s) from ${bucket}, folders with everything in them?`)) return;
  const keys = await expand(bucket, items);
  for (const key of keys) await api.s3('DeleteObject', { bucket, key });
  ui.closeDetails();
  ui.notify(`Deleted ${keys.length} object(s).`);
  await ui.reload();
}

async function moveSelected() {
  const { bucket, prefix } = ui.location();
  const items = selected();
  if (!items.length) return;
  const answer = window.prompt(`Move ${items.length} selected item(s) to which folder? (empty: the bucket's top)`, prefix);
  if (answer === null) return;
  const folder = answer.trim().replace(/^\/+/, '');
  const destination = folder && !folder.endsWith('/') ? `${folder}/` : folder;
  let moved = 0;
  for (const item of items) {
    // A folder moves with its contents, keeping their paths below it.
    const base = item.slice(0, item.lastIndexOf('/', item.length - 2) + 1);
    for (const key of await expand(bucket, [item])) {
      await moveObject(bucket, key, destination + key.slice(base.length));
      moved += 1;
    }
  }
  ui.closeDetails();
  ui.notify(`Moved ${moved} object(s) to ${destination || 'the top of the bucket'}.`);
  await ui.reload();
}
