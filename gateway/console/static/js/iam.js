// The account's IAM pages, each action one IAM query API call that the server signs for
// the signed-in key and the IAM endpoint authorizes (api.iam): the console can do in IAM
// exactly what the key can.
//   #/iam/users            users: create, delete
//   #/iam/users/<name>     a user: access keys (create, shown once; deactivate; delete),
//                          groups, inline policies (the policy editor), managed policies
//   #/iam/groups           groups: create, delete
//   #/iam/groups/<name>    a group: members, inline and managed policies
//   #/iam/policies         managed policies: create (the policy editor), delete
// The policy editor checks that the document is JSON; IAM validates the rest and its
// refusal (MalformedPolicyDocument...) is shown in its own words.
import * as api from './api.js';
import { childText, elements } from './api.js';

let ui = null;
const $ = (id) => document.getElementById(id);

// The <member> children of the response's `list` element (IAM's lists).
function members(doc, list) {
  const parent = elements(doc, list)[0];
  return parent ? Array.from(parent.children).filter((c) => c.localName === 'member') : [];
}

function when(text) {
  return text ? ui.formatDate(text) : '';
}

export function installIam(context) {
  ui = context;
}

function view() {
  return $('iam-view');
}

function table(caption, headings, rows, empty) {
  const { el } = ui;
  const body = el('tbody', {});
  if (rows.length === 0) body.append(el('tr', {}, el('td', { colspan: String(headings.length), text: empty })));
  for (const row of rows) body.append(row);
  return el('table', { class: 'listing iam' },
    el('caption', { class: 'visually-hidden', text: caption }),
    el('thead', {}, el('tr', {}, ...headings.map((h) => el('th', { scope: 'col', text: h })))),
    body);
}

function button(text, label, action, danger = false) {
  const attrs = { type: 'button', text, 'aria-label': label, onclick: () => ui.guarded(action) };
  if (danger) attrs.class = 'danger';
  return ui.el('button', attrs);
}

function inlineForm(id, label, submitText, onSubmit, control) {
  const { el } = ui;
  const input = control || el('input', { id: `${id}-name`, required: '', spellcheck: 'false' });
  const form = el('form', { id, class: 'inline-form' },
    el('label', { for: input.id, text: label }), input, el('button', { type: 'submit', text: submitText }));
  form.addEventListener('submit', (event) => { event.preventDefault(); ui.guarded(() => onSubmit(input.value.trim())); });
  return form;
}

// A secret shown once, in a read-only field the user can copy.
function shownOnce(id, accessKey, secretKey) {
  const { el } = ui;
  return el('div', { id, class: 'shown-once', role: 'status' },
    el('p', { text: `Access key ${accessKey} created. Copy its secret key now: it is shown this once only.` }),
    el('label', { for: `${id}-secret`, text: 'Secret key (shown once)' }),
    el('input', { id: `${id}-secret`, readonly: '', value: secretKey, spellcheck: 'false' }));
}

function documentOf(text) {
  try {
    const value = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
  } catch (err) {
    throw new Error(`The policy document is not a JSON object (${err.message}): fix it and save again.`);
  }
  return text;
}

// The policy editor: a name and a JSON document; `save(name, document)` sends it.
function policyEditor(id, title, save, nameValue = '', documentValue = '') {
  const { el } = ui;
  const form = el('form', { id, class: 'settings-form', 'aria-labelledby': `${id}-title` },
    el('h3', { id: `${id}-title`, text: title }),
    el('div', { class: 'field' }, el('label', { for: `${id}-name`, text: 'Policy name' }),
      el('input', { id: `${id}-name`, required: '', spellcheck: 'false', value: nameValue })),
    el('div', { class: 'field wide' }, el('label', { for: `${id}-document`, text: 'Policy document (JSON)' }),
      el('textarea', { id: `${id}-document`, rows: '10', cols: '60', spellcheck: 'false' })),
    el('button', { type: 'submit', text: 'Save policy' }));
  form.querySelector('textarea').value = documentValue || JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetObject'], Resource: ['arn:aws:s3:::BUCKET', 'arn:aws:s3:::BUCKET/*'] }],
  }, null, 2);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    ui.guarded(async () => {
      const name = $(`${id}-name`).value.trim();
      if (!name) throw new Error('Give the policy a name.');
      await save(name, documentOf($(`${id}-document`).value));
    });
  });
  return form;
}

export async function openIam(hash) {
  const user = hash.match(/^#\/iam\/users\/([^/]+)$/);
  const group = hash.match(/^#\/iam\/groups\/([^/]+)$/);
  if (user) await showOwner('User', decodeURIComponent(user[1]));
  else if (group) await showOwner('Group', decodeURIComponent(group[1]));
  else if (hash === '#/iam/groups') await showGroups();
  else if (hash === '#/iam/policies') await showPolicies();
  else await showUsers();
}

// -- users and groups -----------------------------------------------------------------------

async function showUsers() {
  const { el } = ui;
  const doc = await api.iam('ListUsers');
  const rows = members(doc, 'Users').map((u) => {
    const name = childText(u, 'UserName');
    return el('tr', {},
      el('td', {}, el('a', { href: `#/iam/users/${encodeURIComponent(name)}`, text: name })),
      el('td', { text: when(childText(u, 'CreateDate')) }),
      el('td', { class: 'actions' }, button('Delete', `Delete user ${name}`, async () => {
        if (!window.confirm(`Delete the IAM user ${name}?`)) return;
        await api.iam('DeleteUser', { UserName: name });
        ui.notify(`User ${name} deleted.`);
        await showUsers();
      }, true)));
  });
  view().replaceChildren(
    el('h2', { id: 'iam-title', tabindex: '-1', text: 'IAM users' }),
    inlineForm('create-user-form', 'New user name', 'Create user', async (name) => {
      await api.iam('CreateUser', { UserName: name });
      ui.notify(`User ${name} created.`);
      await showUsers();
    }),
    table('IAM users', ['Name', 'Created', 'Actions'], rows, 'No IAM users yet.'));
}

async function showGroups() {
  const { el } = ui;
  const doc = await api.iam('ListGroups');
  const rows = members(doc, 'Groups').map((g) => {
    const name = childText(g, 'GroupName');
    return el('tr', {},
      el('td', {}, el('a', { href: `#/iam/groups/${encodeURIComponent(name)}`, text: name })),
      el('td', { text: when(childText(g, 'CreateDate')) }),
      el('td', { class: 'actions' }, button('Delete', `Delete group ${name}`, async () => {
        if (!window.confirm(`Delete the group ${name}?`)) return;
        await api.iam('DeleteGroup', { GroupName: name });
        ui.notify(`Group ${name} deleted.`);
        await showGroups();
      }, true)));
  });
  view().replaceChildren(
    el('h2', { id: 'iam-title', tabindex: '-1', text: 'Groups' }),
    inlineForm('create-group-form', 'New group name', 'Create group', async (name) => {
      await api.iam('CreateGroup', { GroupName: name });
      ui.notify(`Group ${name} created.`);
      await showGroups();
    }),
    table('Groups', ['Name', 'Created', 'Actions'], rows, 'No groups yet.'));
}

async function managedPolicies() {
  const doc = await api.iam('ListPolicies', { Scope: 'Local' });
  return members(doc, 'Policies').map((p) => [childText(p, 'PolicyName'), childText(p, 'Arn')]);
}

// A user's or a group's page (`kind` "User" or "Group"): its keys or members, its groups
// (users), its inline and its attached managed policies.
async function showOwner(kind, name) {
  const { el } = ui;
  const param = { [`${kind}Name`]: name };
  const noun = kind.toLowerCase();
  const again = () => showOwner(kind, name);
  const parts = [
    el('nav', { 'aria-label': 'Breadcrumb', class: 'breadcrumbs' }, el('ol', {},
      el('li', {}, el('a', { href: `#/iam/${noun}s`, text: kind === 'User' ? 'IAM users' : 'Groups' })),
      el('li', {}, el('a', { href: `#/iam/${noun}s/${encodeURIComponent(name)}`, 'aria-current': 'page', text: name })))),
    el('h2', { id: 'iam-title', tabindex: '-1', text: `${kind === 'User' ? 'IAM user' : 'Group'} ${name}` }),
  ];
  if (kind === 'User') parts.push(...await keySection(name, again), ...await groupSection(name, again));
  else parts.push(...await memberSection(name, again));

  // Inline policies: listed, edited in the policy editor, deleted.
  const inline = members(await api.iam(`List${kind}Policies`, param), 'PolicyNames').map((m) => m.textContent);
  const inlineRows = inline.map((policy) => el('tr', {},
    el('td', { text: policy }),
    el('td', { class: 'actions' },
      button('Edit', `Edit inline policy ${policy}`, async () => {
        const doc = await api.iam(`Get${kind}Policy`, { ...param, PolicyName: policy });
        const text = decodeURIComponent(elements(doc, 'PolicyDocument')[0].textContent);
        $('inline-policy-form-name').value = policy;
        $('inline-policy-form-document').value = JSON.stringify(JSON.parse(text), null, 2);
        $('inline-policy-form-document').focus();
      }),
      button('Delete', `Delete inline policy ${policy}`, async () => {
        await api.iam(`Delete${kind}Policy`, { ...param, PolicyName: policy });
        ui.notify(`Inline policy ${policy} deleted.`);
        await again();
      }, true))));
  parts.push(el('h3', { text: 'Inline policies' }),
    table(`Inline policies of ${name}`, ['Name', 'Actions'], inlineRows, 'No inline policies.'),
    policyEditor('inline-policy-form', 'Policy editor (inline policy)', async (policy, document) => {
      await api.iam(`Put${kind}Policy`, { ...param, PolicyName: policy, PolicyDocument: document });
      ui.notify(`Inline policy ${policy} saved.`);
      await again();
    }));

  // Managed policies: attached and detached.
  const attached = members(await api.iam(`ListAttached${kind}Policies`, param), 'AttachedPolicies')
    .map((p) => [childText(p, 'PolicyName'), childText(p, 'PolicyArn')]);
  const attachedRows = attached.map(([policy, arn]) => el('tr', {},
    el('td', { text: policy }),
    el('td', { class: 'actions' }, button('Detach', `Detach policy ${policy}`, async () => {
      await api.iam(`Detach${kind}Policy`, { ...param, PolicyArn: arn });
      ui.notify(`Policy ${policy} detached.`);
      await again();
    }, true))));
  const attachable = (await managedPolicies()).filter(([, arn]) => !attached.some(([, a]) => a === arn));
  const choose = el('select', { id: 'attach-policy-name' },
    ...attachable.map(([policy, arn]) => el('option', { value: arn, text: policy })));
  parts.push(el('h3', { text: 'Managed policies' }),
    table(`Managed policies attached to ${name}`, ['Name', 'Actions'], attachedRows, 'No managed policies attached.'),
    inlineForm('attach-policy-form', 'Managed policy', 'Attach policy', async (arn) => {
      if (!arn) throw new Error('There is no managed policy to attach: create one under Policies.');
      await api.iam(`Attach${kind}Policy`, { ...param, PolicyArn: arn });
      ui.notify('Policy attached.');
      await again();
    }, choose));
  view().replaceChildren(...parts);
}

async function keySection(user, again) {
  const { el } = ui;
  const doc = await api.iam('ListAccessKeys', { UserName: user });
  const rows = members(doc, 'AccessKeyMetadata').map((k) => {
    const id = childText(k, 'AccessKeyId');
    const active = childText(k, 'Status') === 'Active';
    return el('tr', { 'data-key': id },
      el('td', { text: id }),
      el('td', { text: active ? 'Active' : 'Inactive' }),
      el('td', { text: when(childText(k, 'CreateDate')) }),
      el('td', { class: 'actions' },
        button(active ? 'Deactivate' : 'Activate', `${active ? 'Deactivate' : 'Activate'} key ${id}`, async () => {
          await api.iam('UpdateAccessKey', { UserName: user, AccessKeyId: id, Status: active ? 'Inactive' : 'Active' });
          ui.notify(`Key ${id} ${active ? 'deactivated' : 'activated'}.`);
          await again();
        }),
        button('Delete', `Delete key ${id}`, async () => {
          if (!window.confirm(`Delete the access key ${id}? Whatever uses it stops working.`)) return;
          await api.iam('DeleteAccessKey', { UserName: user, AccessKeyId: id });
          ui.notify(`Key ${id} deleted.`);
          await again();
        }, true)));
  });
  const created = el('div', { id: 'new-key' });
  const create = button('Create access key', `Create access key for ${user}`, async () => {
    const made = await api.iam('CreateAccessKey', { UserName: user });
    await again();
    $('new-key').replaceChildren(shownOnce('new-key-shown', childText(elements(made, 'AccessKey')[0], 'AccessKeyId'),
      childText(elements(made, 'AccessKey')[0], 'SecretAccessKey')));
    $('new-key-shown-secret').focus();
  });
  return [el('h3', { text: 'Access keys' }),
    table(`Access keys of ${user}`, ['Access key', 'Status', 'Created', 'Actions'], rows, 'No access keys.'),
    el('p', {}, create), created];
}

async function groupSection(user, again) {
  const { el } = ui;
  const mine = members(await api.iam('ListGroupsForUser', { UserName: user }), 'Groups').map((g) => childText(g, 'GroupName'));
  const all = members(await api.iam('ListGroups'), 'Groups').map((g) => childText(g, 'GroupName'));
  const rows = mine.map((group) => el('tr', {},
    el('td', {}, el('a', { href: `#/iam/groups/${encodeURIComponent(group)}`, text: group })),
    el('td', { class: 'actions' }, button('Remove', `Remove ${user} from group ${group}`, async () => {
      await api.iam('RemoveUserFromGroup', { UserName: user, GroupName: group });
      ui.notify(`${user} removed from ${group}.`);
      await again();
    }, true))));
  const choose = el('select', { id: 'add-to-group-name' },
    ...all.filter((g) => !mine.includes(g)).map((g) => el('option', { value: g, text: g })));
  return [el('h3', { text: 'Groups' }),
    table(`Groups of ${user}`, ['Group', 'Actions'], rows, 'In no group.'),
    inlineForm('add-to-group-form', 'Group', 'Add to group', async (group) => {
      if (!group) throw new Error('There is no other group: create one under Groups.');
      await api.iam('AddUserToGroup', { UserName: user, GroupName: group });
      ui.notify(`${user} added to ${group}.`);
      await again();
    }, choose)];
}

async function memberSection(group, again) {
  const { el } = ui;
  const doc = await api.iam('GetGroup', { GroupName: group });
  const users = members(doc, 'Users').map((u) => childText(u, 'UserName'));
  const rows = users.map((user) => el('tr', {},
    el('td', {}, el('a', { href: `#/iam/users/${encodeURIComponent(user)}`, text: user })),
    el('td', { class: 'actions' }, button('Remove', `Remove ${user} from ${group}`, async () => {
      await api.iam('RemoveUserFromGroup', { UserName: user, GroupName: group });
      ui.notify(`${user} removed from ${group}.`);
      await again();
    }, true))));
  const others = members(await api.iam('ListUsers'), 'Users').map((u) => childText(u, 'UserName')).filter((u) => !users.includes(u));
  const choose = el('select', { id: 'add-member-name' }, ...others.map((u) => el('option', { value: u, text: u })));
  return [el('h3', { text: 'Members' }),
    table(`Members of ${group}`, ['User', 'Actions'], rows, 'No members.'),
    inlineForm('add-member-form', 'User', 'Add member', async (user) => {
      if (!user) throw new Error('There is no other user to add.');
      await api.iam('AddUserToGroup', { UserName: user, GroupName: group });
      ui.notify(`${user} added to ${group}.`);
      await again();
    }, choose)];
}

// -- managed policies -------------------------------------------------------------------------

async function showPolicies() {
  const { el } = ui;
  const doc = await api.iam('ListPolicies', { Scope: 'Local' });
  const rows = members(doc, 'Policies').map((p) => {
    const name = childText(p, 'PolicyName');
    const arn = childText(p, 'Arn');
    return el('tr', {},
      el('td', { text: name }),
      el('td', { class: 'arn', text: arn }),
      el('td', { text: childText(p, 'AttachmentCount') || '0' }),
      el('td', { class: 'actions' }, button('Delete', `Delete policy ${name}`, async () => {
        if (!window.confirm(`Delete the managed policy ${name}?`)) return;
        await api.iam('DeletePolicy', { PolicyArn: arn });
        ui.notify(`Policy ${name} deleted.`);
        await showPolicies();
      }, true)));
  });
  view().replaceChildren(
    el('h2', { id: 'iam-title', tabindex: '-1', text: 'Managed policies' }),
    table('Managed policies', ['Name', 'ARN', 'Attachments', 'Actions'], rows, 'No managed policies yet.'),
    policyEditor('managed-policy-form', 'Policy editor (new managed policy)', async (name, document) => {
      await api.iam('CreatePolicy', { PolicyName: name, PolicyDocument: document });
      ui.notify(`Policy ${name} created.`);
      await showPolicies();
    }));
}
