// SDK keys of an environment: issue one (its secret is shown once, with a copy button), list
// them (the server never answers a secret twice), revoke one.

import { api, path } from '../api.js';
import { h, replace, field, when } from '../dom.js';
import { confirmChange, showSecret, toast } from '../dialog.js';
import { showErrors, clearErrors } from '../forms.js';

export function sdkKeys(env) {
  const body = h('tbody');
  const status = h('p', { class: 'muted', role: 'status' });

  async function load() {
    try {
      const list = await api('GET', path`/environments/${env}/sdk-keys`);
      replace(body, list.keys.map((k) => h('tr', { dataset: { id: k.id } },
        h('th', { scope: 'row' }, k.name),
        h('td', { 'data-label': 'Id' }, h('code', null, k.id)),
        h('td', { 'data-label': 'Created' }, when(k.created_at), ` by ${k.created_by}`),
        h('td', null, h('button', {
          type: 'button', class: ['danger', 'small'], 'aria-label': `Revoke ${k.name} (${k.id})`,
          async onclick() {
            const done = await confirmChange({
              title: `Revoke ${k.name}?`, env, confirmLabel: 'Revoke', danger: true,
              summary: [h('p', null, 'Applications using this key are refused from now on, on every server instance. They keep the flags they have.')],
              run: async (reason) => { await api('DELETE', path`/environments/${env}/sdk-keys/${k.id}`, { reason }); return true; },
            });
            if (done) { toast(`${k.name} revoked.`); load(); }
          },
        }, 'Revoke')))));
      status.textContent = list.keys.length ? `${list.keys.length} key${list.keys.length === 1 ? '' : 's'}` : 'No SDK keys yet.';
    } catch (err) {
      status.textContent = `The keys could not be read: ${err.message}`;
    }
  }

  const name = h('input', { type: 'text', name: 'name', autocomplete: 'off', placeholder: 'checkout-service' });
  const form = h('form', { class: ['card', 'stack'], novalidate: true },
    h('h2', null, 'Issue a key'),
    field('Name', name, { field: 'name', hint: 'who uses it, e.g. the application' }),
    h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Issue key')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const issued = await confirmChange({
      title: `Issue an SDK key for ${env}?`, env, confirmLabel: 'Issue',
      summary: [h('p', null, 'The key reads this environment\'s flags and nothing else.')],
      run: (reason) => api('POST', path`/environments/${env}/sdk-keys`, { body: { name: name.value }, reason }),
      onFieldErrors: (err) => showErrors(form, err),
    });
    if (issued) {
      name.value = '';
      await showSecret({ title: `SDK key ${issued.name}`, secret: issued.key, note: 'This is the only time the secret is shown. Copy it into the application\'s configuration now.' });
      load();
    }
  });
  load();
  return {
    node: h('section', { class: 'stack' },
      h('h1', null, `SDK keys of ${env}`),
      form,
      status,
      h('table', { class: 'keys' },
        h('caption', { class: 'visually-hidden' }, `SDK keys of ${env}`),
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Id'),
          h('th', { scope: 'col' }, 'Created'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
        body)),
    title: `SDK keys of ${env}`,
  };
}
