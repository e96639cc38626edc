// Quotas (the administrator's): a bucket's in its settings, an account's on the usage
// page. Both are the admin API's /quotas/<scope>/<name> (the server refuses anyone else:
// the form is only shown to the administrator). A limit left empty is unlimited.
import * as api from './api.js';

const MIB = 1024 * 1024;

export function describeQuota(use, formatSize) {
  const limit = (used, max, fmt) => (max === null || max === undefined ? `${fmt(used)} (no limit)`
    : `${fmt(used)} of ${fmt(max)} (${max ? Math.round((100 * used) / max) : 100}%)`);
  const quota = use.quota || {};
  return `Stored: ${limit(use.bytes, quota.maxBytes, formatSize)}; objects: ${limit(use.objects, quota.maxObjects, String)}.`;
}

// The form for one scope ("bucket" or "account"); `prefix` keeps element ids apart.
export function quotaForm(context, prefix, title) {
  const { el, guarded } = context;
  const field = (id, label, control) => el('div', { class: 'field' }, el('label', { for: id, text: label }), control);
  const form = el('form', { id: `${prefix}-form`, class: 'settings-form', 'aria-labelledby': `${prefix}-form-title` },
    el('h3', { id: `${prefix}-form-title`, text: title }),
    el('p', { id: `${prefix}-state`, role: 'status' }),
    field(`${prefix}-mib`, 'Maximum size in MiB (empty: no limit)', el('input', { id: `${prefix}-mib`, type: 'number', min: '0', step: '1' })),
    field(`${prefix}-objects`, 'Maximum objects (empty: no limit)', el('input', { id: `${prefix}-objects`, type: 'number', min: '0', step: '1' })),
    el('div', { class: 'actions' },
      el('button', { type: 'submit', text: 'Save quota' }),
      el('button', { type: 'button', id: `${prefix}-clear`, class: 'danger', text: 'Remove quota' })));
  let target = null; // [scope, name]
  const $ = (suffix) => form.querySelector(`#${prefix}-${suffix}`); // shown or not yet
  const path = () => `/quotas/${target[0]}/${encodeURIComponent(target[1])}`;
  const show = (use) => {
    $('state').textContent = describeQuota(use, context.formatSize);
    const quota = use.quota || {};
    $('mib').value = quota.maxBytes === null || quota.maxBytes === undefined ? '' : String(Math.round(quota.maxBytes / MIB));
    $('objects').value = quota.maxObjects === null || quota.maxObjects === undefined ? '' : String(quota.maxObjects);
  };
  const whole = (id, what) => {
    const text = $(id).value.trim();
    if (!text) return null;
    if (!/^\d+$/.test(text)) throw new Error(`Give the ${what} as a whole number, or leave it empty.`);
    return Number(text);
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    guarded(async () => {
      const mib = whole('mib', 'maximum size');
      const maxObjects = whole('objects', 'maximum number of objects');
      if (mib === null && maxObjects === null) throw new Error('Give a maximum size or a maximum number of objects (or remove the quota).');
      show(await api.admin.put(path(), { maxBytes: mib === null ? null : mib * MIB, maxObjects }));
      context.notify(`Quota of ${target[1]} saved.`);
    });
  });
  form.querySelector(`#${prefix}-clear`).addEventListener('click', () => guarded(async () => {
    show(await api.admin.remove(path()));
    context.notify(`Quota of ${target[1]} removed.`);
  }));
  return {
    form,
    async load(scope, name) {
      target = [scope, name];
      // Held while the answer is on its way: a limit typed meanwhile would be overwritten
      // by it (and saved as "no limit").
      const controls = [...form.querySelectorAll('input, button')];
      controls.forEach((control) => { control.disabled = true; });
      try {
        show(await api.admin.get(path()));
      } finally {
        controls.forEach((control) => { control.disabled = false; });
      }
    },
  };
}
