// An object's versions in its details view (ListObjectVersions): download or delete one
// version, or delete them all (each version and delete marker by its id). On a bucket that
// never had versioning the object's one version is "null".
import * as api from './api.js';
import { childText, elements } from './api.js';

let ui = null;
const $ = (id) => document.getElementById(id);

export function installVersions(context) {
  ui = context;
}

// Every version and delete marker of exactly `key`, newest first (S3's order).
async function listVersions(bucket, key) {
  const found = [];
  let keyMarker = null;
  let versionMarker = null;
  for (;;) {
    const params = { prefix: key, 'max-keys': '1000' };
    if (keyMarker !== null) params['key-marker'] = keyMarker;
    if (versionMarker !== null) params['version-id-marker'] = versionMarker;
    const { xml } = await api.s3('ListObjectVersions', { bucket, params });
    for (const node of xml.documentElement.children) {
      if ((node.localName === 'Version' || node.localName === 'DeleteMarker') && childText(node, 'Key') === key) {
        found.push({
          id: childText(node, 'VersionId'),
          marker: node.localName === 'DeleteMarker',
          latest: childText(node, 'IsLatest') === 'true',
          size: childText(node, 'Size'),
          modified: childText(node, 'LastModified'),
        });
      }
    }
    const truncated = elements(xml, 'IsTruncated')[0];
    const nextKey = elements(xml, 'NextKeyMarker')[0];
    // Keys after ours sort after it: once the listing has moved past it, stop.
    if (!truncated || truncated.textContent !== 'true' || !nextKey || nextKey.textContent !== key) break;
    keyMarker = nextKey.textContent;
    const nextVersion = elements(xml, 'NextVersionIdMarker')[0];
    versionMarker = nextVersion ? nextVersion.textContent : null;
  }
  return found;
}

function versionParams(version) {
  return { versionId: version.id };
}

async function downloadVersion(bucket, key, version) {
  const name = ui.baseName(key);
  const params = {
    ...versionParams(version),
    'response-content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(name)}`,
  };
  const { url } = await api.presign('GetObject', bucket, key, params);
  const link = ui.el('a', { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  ui.notify(`Downloading version ${version.id} of ${name}.`);
}

async function afterDelete(bucket, key, text) {
  ui.notify(text);
  await ui.reload();
  const left = await listVersions(bucket, key);
  if (left.length === 0) ui.closeDetails();
  else render(bucket, key, left);
}

async function deleteVersion(bucket, key, version) {
  const what = version.marker ? 'the delete marker' : 'version';
  if (!window.confirm(`Delete ${what} ${version.id} of ${key}? This cannot be undone.`)) return;
  await api.s3('DeleteObject', { bucket, key, params: versionParams(version) });
  await afterDelete(bucket, key, `Deleted ${what} ${version.id} of ${key}.`);
}

async function deleteAll(bucket, key) {
  const all = await listVersions(bucket, key);
  if (!window.confirm(`Delete all ${all.length} versions of ${key}? This cannot be undone.`)) return;
  for (const version of all) {
    await api.s3('DeleteObject', { bucket, key, params: versionParams(version) });
  }
  await afterDelete(bucket, key, `Deleted all ${all.length} versions of ${key}.`);
}

function render(bucket, key, versions) {
  const box = $('versions');
  const { el, formatDate, formatSize, guarded } = ui;
  const rows = versions.map((version) => {
    const label = `version ${version.id}${version.latest ? ' (latest)' : ''}`;
    const actions = el('td', { class: 'actions' });
    if (!version.marker) {
      actions.append(el('button', {
        type: 'button', 'aria-label': `Download ${label}`, text: 'Download',
        onclick: () => guarded(() => downloadVersion(bucket, key, version)),
      }));
    }
    actions.append(el('button', {
      type: 'button', class: 'danger', 'aria-label': `Delete ${label}`, text: 'Delete',
      onclick: () => guarded(() => deleteVersion(bucket, key, version)),
    }));
    return el('tr', { 'data-version': version.id },
      el('td', { text: version.id + (version.latest ? ' (latest)' : '') }),
      el('td', { text: version.marker ? 'delete marker' : formatSize(version.size) }),
      el('td', { text: formatDate(version.modified) }), actions);
  });
  box.replaceChildren(
    el('h4', { id: 'versions-title', text: `Versions (${versions.length})` }),
    el('table', { class: 'listing', 'aria-labelledby': 'versions-title' },
      el('thead', {}, el('tr', {},
        el('th', { scope: 'col', text: 'Version' }), el('th', { scope: 'col', text: 'Size' }),
        el('th', { scope: 'col', text: 'Modified' }), el('th', { scope: 'col', text: 'Actions' }))),
      el('tbody', {}, ...rows)),
    el('button', {
      type: 'button', class: 'danger', text: 'Delete all versions',
      onclick: () => guarded(() => deleteAll(bucket, key)),
    }));
}

// Called by the details view once it shows `key`; a refusal is shown in the box, in words.
export async function showVersions(bucket, key) {
  const box = $('versions');
  box.replaceChildren(ui.el('p', { text: 'Loading versions…' }));
  try {
    render(bucket, key, await listVersions(bucket, key));
  } catch (err) {
    if (err instanceof api.ConsoleError && err.signedOut) throw err;
    box.replaceChildren(ui.el('p', { text: `Versions not shown: ${err.message}` }));
  }
}
