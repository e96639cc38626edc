// A bucket's event notifications (part of #/settings/<bucket>): its rules, each sending
// chosen events below a prefix (and/or with a suffix) to one of the targets the operator
// configured on the gateway. Saving sends the whole configuration as one presigned
// PutBucketNotificationConfiguration; the server validates it (unknown target,
// overlapping rules...) and its refusal is shown in words.
import * as api from './api.js';
import { childText, elements } from './api.js';

const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const KINDS = { QueueConfiguration: 'Queue', TopicConfiguration: 'Topic', CloudFunctionConfiguration: 'CloudFunction' };
const EVENTS = [
  ['s3:ObjectCreated:*', 'Objects created'],
  ['s3:ObjectRemoved:*', 'Objects removed'],
  ['s3:ObjectTagging:*', 'Tags changed'],
  ['s3:LifecycleExpiration:*', 'Expired by a lifecycle rule'],
];

let ui = null;
let bucket = null;
let rules = [];
let arnOf = (name) => name;
const $ = (id) => document.getElementById(id);

function escape(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function notificationsForm(context) {
  ui = context;
  const { el } = ui;
  const field = (id, label, control) => el('div', { class: 'field' }, el('label', { for: id, text: label }), control);
  const form = el('form', { id: 'notification-form', class: 'settings-form', 'aria-labelledby': 'notification-form-title' },
    el('h3', { id: 'notification-form-title', text: 'Event notifications' }),
    el('p', { id: 'notification-state' }),
    el('table', { class: 'listing', id: 'notification-table' },
      el('caption', { class: 'visually-hidden', text: 'Notification rules' }),
      el('thead', {}, el('tr', {}, ...['Target', 'Events', 'Filter', 'Actions'].map((t) => el('th', { scope: 'col', text: t })))),
      el('tbody', { id: 'notification-rows' })),
    el('h4', { text: 'Add a rule' }),
    field('notification-target', 'Send to target', el('select', { id: 'notification-target' })),
    el('fieldset', { class: 'events' }, el('legend', { text: 'Events' }),
      ...EVENTS.map(([value, text], i) => el('div', {},
        el('input', { type: 'checkbox', id: `notification-event-${i}`, value }),
        el('label', { for: `notification-event-${i}`, text: ` ${text} (${value})` })))),
    field('notification-prefix', 'Only keys starting with (optional)', el('input', { id: 'notification-prefix', spellcheck: 'false' })),
    field('notification-suffix', 'Only keys ending with (optional)', el('input', { id: 'notification-suffix', spellcheck: 'false' })),
    el('button', { type: 'submit', text: 'Add rule and save' }));
  form.addEventListener('submit', (event) => { event.preventDefault(); ui.guarded(addRule); });
  return form;
}

function parseRules(xml) {
  const found = [];
  for (const [tag, kind] of Object.entries(KINDS)) {
    for (const node of elements(xml, tag)) {
      const filter = {};
      for (const rule of elements(node, 'FilterRule')) {
        filter[(childText(rule, 'Name') || '').toLowerCase()] = childText(rule, 'Value') || '';
      }
      found.push({
        kind,
        id: childText(node, 'Id'),
        arn: childText(node, kind),
        events: Array.from(node.children).filter((c) => c.localName === 'Event').map((c) => c.textContent),
        prefix: filter.prefix || '',
        suffix: filter.suffix || '',
      });
    }
  }
  return found;
}

function documentOf(list) {
  const parts = list.map((r) => {
    const filters = [['prefix', r.prefix], ['suffix', r.suffix]].filter(([, v]) => v)
      .map(([n, v]) => `<FilterRule><Name>${n}</Name><Value>${escape(v)}</Value></FilterRule>`).join('');
    const id = r.id ? `<Id>${escape(r.id)}</Id>` : '';
    const events = r.events.map((e) => `<Event>${escape(e)}</Event>`).join('');
    const filter = filters ? `<Filter><S3Key>${filters}</S3Key></Filter>` : '';
    return `<${r.kind}Configuration>${id}<${r.kind}>${escape(r.arn)}</${r.kind}>${events}${filter}</${r.kind}Configuration>`;
  }).join('');
  return `<NotificationConfiguration xmlns="${S3_NS}">${parts}</NotificationConfiguration>`;
}

export async function loadNotifications(name) {
  bucket = name;
  const { el } = ui;
  const known = await api.targets();
  arnOf = (target) => `arn:kloudvault:sqs:${known.region}:${known.accountId}:${target}`;
  const select = $('notification-target');
  select.replaceChildren(...known.targets.map((t) => el('option', { value: t, text: t })));
  $('notification-form').querySelector('button[type=submit]').disabled = known.targets.length === 0;
  const { xml } = await api.s3('GetBucketNotificationConfiguration', { bucket });
  rules = parseRules(xml);
  render(known.targets.length);
}

function render(targetCount) {
  const { el } = ui;
  const none = targetCount === 0 ? ' No notification target is configured on the gateway: an operator adds one with `kloudvault admin target`.' : '';
  $('notification-state').textContent = `${rules.length ? `${rules.length} rule(s).` : 'No notifications are sent for this bucket.'}${none}`;
  $('notification-table').hidden = rules.length === 0;
  $('notification-rows').replaceChildren(...rules.map((r, index) => {
    const target = (r.arn || '').split(':').pop();
    const filter = [r.prefix && `prefix ${r.prefix}`, r.suffix && `suffix ${r.suffix}`].filter(Boolean).join(', ') || 'every key';
    return el('tr', {},
      el('td', { text: target }),
      el('td', { text: r.events.join(', ') }),
      el('td', { text: filter }),
      el('td', { class: 'actions' }, el('button', {
        type: 'button', class: 'danger', text: 'Remove',
        'aria-label': `Remove the rule sending to ${target}`,
        onclick: () => ui.guarded(() => save(rules.filter((_, i) => i !== index), 'Rule removed')),
      })));
  }));
}

async function save(list, what) {
  await api.s3('PutBucketNotificationConfiguration', { bucket, body: documentOf(list), contentType: 'application/xml' });
  await loadNotifications(bucket);
  ui.notify(`${what}: notifications of ${bucket} saved.`);
}

async function addRule() {
  const target = $('notification-target').value;
  const events = EVENTS.map((_, i) => $(`notification-event-${i}`)).filter((c) => c.checked).map((c) => c.value);
  if (!target) throw new Error('Choose a target to send the events to.');
  if (events.length === 0) throw new Error('Choose at least one kind of event.');
  const rule = {
    kind: 'Queue', id: null, arn: arnOf(target), events,
    prefix: $('notification-prefix').value.trim(), suffix: $('notification-suffix').value.trim(),
  };
  await save([...rules, rule], 'Rule added');
  for (const [i] of EVENTS.entries()) $(`notification-event-${i}`).checked = false;
  $('notification-prefix').value = '';
  $('notification-suffix').value = '';
}
