// A bucket's settings (#/settings/<bucket>): versioning, default encryption, CORS and
// lifecycle rules (JSON editors; the server's Put answer validates them), object lock
// default retention, the policy status with "make a prefix public", event notifications
// (notifications.js) and, for the administrator, the bucket's quota (quota.js). Every change is a
// presigned S3 request: the console can do no more than the signed-in key.
import * as api from './api.js';
import { childText, elements } from './api.js';
import { loadNotifications, notificationsForm } from './notifications.js';
import { quotaForm } from './quota.js';
import { toJson, toXml } from './xmljson.js';

let ui = null;
let bucket = null;
let quota = null; // the bucket quota form (quota.js), for the administrator only
const $ = (id) => document.getElementById(id);
const XML = 'application/xml';

export function installSettings(context) {
  ui = context;
  const { el, guarded } = ui;
  const form = (id, title, ...children) => el('form', { id, class: 'settings-form', 'aria-labelledby': `${id}-title` },
    el('h3', { id: `${id}-title`, text: title }), ...children);
  const field = (id, label, control) => el('div', { class: 'field' }, el('label', { for: id, text: label }), control);
  const select = (id, options) => el('select', { id }, ...options.map(([value, text]) => el('option', { value, text })));
  const editor = (id) => el('textarea', { id, rows: '8', cols: '60', spellcheck: 'false' });
  $('settings-view').replaceChildren(
    el('nav', { 'aria-label': 'Breadcrumb', class: 'breadcrumbs' }, el('ol', {},
      el('li', {}, el('a', { href: '#/', text: 'Buckets' })),
      el('li', {}, el('a', { id: 'settings-bucket-link', href: '#/' })))),
    el('h2', { id: 'settings-title', tabindex: '-1' }),
    form('versioning-form', 'Versioning',
      el('p', { id: 'versioning-state' }),
      field('versioning-status', 'Versioning', select('versioning-status', [['Enabled', 'Enabled'], ['Suspended', 'Suspended']])),
      el('button', { type: 'submit', text: 'Save versioning' })),
    form('encryption-form', 'Default encryption',
      field('encryption-mode', 'Encrypt new objects with', select('encryption-mode', [
        ['', 'No default encryption'], ['AES256', 'SSE-S3 (keys kept by the gateway)'], ['aws:kms', 'SSE-KMS (a KMS key)']])),
      field('encryption-key', 'KMS key id (SSE-KMS)', el('input', { id: 'encryption-key', spellcheck: 'false' })),
      el('button', { type: 'submit', text: 'Save encryption' })),
    form('cors-form', 'CORS rules',
      field('cors-json', 'CORS configuration (JSON, as aws s3api put-bucket-cors takes it; empty removes it)', editor('cors-json')),
      el('button', { type: 'submit', text: 'Save CORS rules' })),
    form('lifecycle-form', 'Lifecycle rules',
      field('lifecycle-json', 'Lifecycle configuration (JSON, as aws s3api put-bucket-lifecycle-configuration takes it; empty removes it)', editor('lifecycle-json')),
      el('button', { type: 'submit', text: 'Save lifecycle rules' })),
    form('lock-form', 'Object lock default retention',
      el('p', { id: 'lock-state' }),
      el('div', { id: 'lock-fields' },
        field('lock-mode', 'Default retention mode', select('lock-mode', [['', 'None'], ['GOVERNANCE', 'Governance'], ['COMPLIANCE', 'Compliance']])),
        field('lock-days', 'Retention days', el('input', { id: 'lock-days', type: 'number', min: '1', step: '1' })),
        el('button', { type: 'submit', text: 'Save retention' }))),
    form('public-form', 'Policy and public access',
      el('p', { id: 'policy-status', role: 'status' }),
      field('public-prefix', 'Prefix to make public (anyone may read objects below it)', el('input', { id: 'public-prefix', spellcheck: 'false' })),
      el('button', { type: 'submit', text: 'Make prefix public' })),
    notificationsForm(ui));
  quota = quotaForm(ui, 'bucket-quota', 'Quota');
  $('settings-view').append(quota.form);
  // A save clears the last notice first, so a notice on screen always speaks of the last save;
  // it is shown once the form has been read back, so that what the user types after it stays.
  const on = (id, action) => $(id).addEventListener('submit', (event) => {
    event.preventDefault();
    ui.notify('');
    guarded(action);
  });
  on('versioning-form', saveVersioning);
  on('encryption-form', saveEncryption);
  on('cors-form', () => saveJson('cors-json', 'BucketCors', 'DeleteBucketCors', 'CORSConfiguration', 'CORS rules'));
  on('lifecycle-form', () => saveJson('lifecycle-json', 'BucketLifecycleConfiguration', 'DeleteBucketLifecycle', 'LifecycleConfiguration', 'Lifecycle rules'));
  on('lock-form', saveLock);
  on('public-form', makePublic);
}

// The configuration, or null when the bucket has none (S3 answers 404 with `missing`).
async function getConfig(operation, missing) {
  try {
    const { xml } = await api.s3(operation, { bucket });
    return xml;
  } catch (err) {
    if (err instanceof api.ConsoleError && err.code === missing) return null;
    throw err;
  }
}

export async function openSettings(name) {
  bucket = name;
  $('settings-title').textContent = `Settings of ${bucket}`;
  $('settings-bucket-link').textContent = bucket;
  $('settings-bucket-link').href = `#/b/${encodeURIComponent(bucket)}/`;
  // Each part loads on its own: one the key may not read says so and the rest still show.
  const admin = Boolean(ui.who() && ui.who().admin);
  quota.form.hidden = !admin;
  const loadNotes = () => loadNotifications(bucket);
  const loadQuota = () => (admin ? quota.load('bucket', bucket) : null);
  for (const load of [loadVersioning, loadEncryption, loadCors, loadLifecycle, loadLock, loadPolicy, loadNotes, loadQuota]) {
    await ui.guarded(load);
  }
  $('settings-title').focus();
}

async function loadVersioning() {
  const { xml } = await api.s3('GetBucketVersioning', { bucket });
  const status = childText(xml.documentElement, 'Status');
  $('versioning-state').textContent = `Versioning is ${status ? status.toLowerCase() : 'off (never enabled)'}.`;
  $('versioning-status').value = status === 'Enabled' ? 'Suspended' : 'Enabled';
}

async function saveVersioning() {
  const status = $('versioning-status').value;
  const body = `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>${status}</Status></VersioningConfiguration>`;
  await api.s3('PutBucketVersioning', { bucket, body, contentType: XML });
  await loadVersioning();
  ui.notify(`Versioning ${status.toLowerCase()} on ${bucket}.`);
}

async function loadEncryption() {
  const xml = await getConfig('GetBucketEncryption', 'ServerSideEncryptionConfigurationNotFoundError');
  const algorithm = xml && elements(xml, 'SSEAlgorithm')[0];
  const key = xml && elements(xml, 'KMSMasterKeyID')[0];
  $('encryption-mode').value = algorithm ? algorithm.textContent : '';
  $('encryption-key').value = key ? key.textContent : '';
}

async function saveEncryption() {
  const mode = $('encryption-mode').value;
  if (!mode) {
    await api.s3('DeleteBucketEncryption', { bucket });
    ui.notify(`Default encryption removed from ${bucket}.`);
    return;
  }
  const keyId = $('encryption-key').value.trim();
  const key = mode === 'aws:kms' && keyId ? `<KMSMasterKeyID>${keyId.replace(/[<&>]/g, '')}</KMSMasterKeyID>` : '';
  const body = '<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule>'
    + `<ApplyServerSideEncryptionByDefault><SSEAlgorithm>${mode}</SSEAlgorithm>${key}</ApplyServerSideEncryptionByDefault>`
    + '</Rule></ServerSideEncryptionConfiguration>';
  await api.s3('PutBucketEncryption', { bucket, body, contentType: XML });
  await loadEncryption();
  ui.notify(`Default encryption of ${bucket} saved.`);
}

async function loadCors() {
  const xml = await getConfig('GetBucketCors', 'NoSuchCORSConfiguration');
  $('cors-json').value = xml ? toJson(xml) : '';
}

async function loadLifecycle() {
  const xml = await getConfig('GetBucketLifecycleConfiguration', 'NoSuchLifecycleConfiguration');
  $('lifecycle-json').value = xml ? toJson(xml) : '';
}

async function saveJson(editorId, name, deleteOperation, root, what) {
  const text = $(editorId).value.trim();
  if (!text) {
    await api.s3(deleteOperation, { bucket });
    ui.notify(`${what} removed from ${bucket}.`);
    return;
  }
  let body;
  try {
    body = toXml(root, text);
  } catch (err) {
    throw new Error(`${what} are not valid JSON: ${err.message}`);
  }
  await api.s3(`Put${name}`, { bucket, body, contentType: XML });
  ui.notify(`${what} of ${bucket} saved.`);
}

async function loadLock() {
  const xml = await getConfig('GetObjectLockConfiguration', 'ObjectLockConfigurationNotFoundError');
  const enabled = xml && childText(xml.documentElement, 'ObjectLockEnabled') === 'Enabled';
  $('lock-fields').hidden = !enabled;
  if (!enabled) {
    $('lock-state').textContent = 'Object lock is not enabled on this bucket (it can only be enabled when a bucket is created).';
    return;
  }
  const mode = elements(xml, 'Mode')[0];
  const days = elements(xml, 'Days')[0];
  $('lock-state').textContent = mode ? `Default retention: ${mode.textContent}, ${days ? `${days.textContent} days` : 'in years'}.` : 'Object lock is enabled, with no default retention.';
  $('lock-mode').value = mode ? mode.textContent : '';
  $('lock-days').value = days ? days.textContent : '';
}

async function saveLock() {
  const mode = $('lock-mode').value;
  const days = $('lock-days').value;
  if (mode && !/^[1-9]\d*$/.test(days)) throw new Error('Give the retention as a whole number of days.');
  const rule = mode ? `<Rule><DefaultRetention><Mode>${mode}</Mode><Days>${days}</Days></DefaultRetention></Rule>` : '';
  const body = '<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    + `<ObjectLockEnabled>Enabled</ObjectLockEnabled>${rule}</ObjectLockConfiguration>`;
  await api.s3('PutObjectLockConfiguration', { bucket, body, contentType: XML });
  await loadLock();
  ui.notify(`Default retention of ${bucket} saved.`);
}

async function loadPolicy() {
  const xml = await getConfig('GetBucketPolicyStatus', 'NoSuchBucketPolicy');
  const isPublic = xml && childText(xml.documentElement, 'IsPublic') === 'true';
  $('policy-status').textContent = xml === null
    ? 'This bucket has no policy: it is not public.'
    : `This bucket's policy makes it ${isPublic ? 'PUBLIC: anyone may read some of it' : 'not public'}.`;
}

async function policyText() {
  try {
    return (await api.s3('GetBucketPolicy', { bucket })).text;
  } catch (err) {
    if (err instanceof api.ConsoleError && err.code === 'NoSuchBucketPolicy') return null;
    throw err;
  }
}

async function makePublic() {
  const prefix = $('public-prefix').value.trim().replace(/^\/+/, '');
  const where = prefix ? `below ${bucket}/${prefix}` : `in ${bucket}`;
  if (!window.confirm(`Anyone on the network will be able to read every object ${where}. Make it public?`)) return;
  const sid = `ConsolePublicRead${prefix.replace(/[^A-Za-z0-9]/g, '') || 'All'}`;
  let policy = { Version: '2012-10-17', Statement: [] };
  const existing = await policyText();
  if (existing) policy = JSON.parse(existing);
  if (!Array.isArray(policy.Statement)) policy.Statement = policy.Statement ? [policy.Statement] : [];
  policy.Statement = policy.Statement.filter((s) => s.Sid !== sid);
  policy.Statement.push({
    Sid: sid, Effect: 'Allow', Principal: '*', Action: 's3:GetObject',
    Resource: `arn:aws:s3:::${bucket}/${prefix}*`,
  });
  await api.s3('PutBucketPolicy', { bucket, body: JSON.stringify(policy), contentType: 'application/json' });
  await loadPolicy();
  ui.notify(`Objects ${where} are now public.`);
}
