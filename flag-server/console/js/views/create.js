// Create a flag: key, type, description, owner, tags; a boolean flag starts at a percentage,
// a typed flag with its variants and the one it serves by default. Created disabled unless
// asked, like `flag-cli flags create`.

import { api, path } from '../api.js';
import { h, field } from '../dom.js';
import { confirmChange, toast } from '../dialog.js';
import { showErrors, clearErrors } from '../forms.js';
import { remember } from '../state.js';

function variantValue(type, text) {
  if (type === 'string') return text;
  try { return JSON.parse(text); } catch { return text; }
}

export function newFlag(env) {
  const key = h('input', { type: 'text', name: 'key', required: true, autocomplete: 'off', spellcheck: 'false', placeholder: 'new_checkout' });
  const type = h('select', { name: 'type' }, ['boolean', 'string', 'number', 'json'].map((t) => h('option', { value: t }, t)));
  const description = h('input', { type: 'text', name: 'description' });
  const owner = h('input', { type: 'text', name: 'owner', autocomplete: 'off' });
  const tags = h('input', { type: 'text', name: 'tags', autocomplete: 'off' });
  const enabled = h('input', { type: 'checkbox', name: 'enabled' });
  const percentage = h('input', { type: 'number', name: 'percentage', min: 0, max: 100, step: 'any', value: 0, class: 'narrow', inputmode: 'decimal' });
  const variants = h('textarea', { name: 'variants', rows: 3, spellcheck: 'false', placeholder: 'blue=#0050ff\ngreen=#00a050' });
  const booleanPart = h('div', null, field('Rollout percentage', percentage, { field: 'percentage', hint: 'of users, when no rule matches (add rules once created)' }));
  const typedPart = h('div', { hidden: true }, field('Variants', variants, {
    field: 'variants', hint: 'one KEY=VALUE per line; the first is served by default. Values are JSON for number and json flags.',
  }));
  type.addEventListener('change', () => {
    booleanPart.hidden = type.value !== 'boolean';
    typedPart.hidden = type.value === 'boolean';
  });
  const form = h('form', { class: ['card', 'stack', 'create'], novalidate: true },
    h('h1', null, `New flag in ${env}`),
    field('Key', key, { field: 'key', hint: 'letters, digits, _ . - (it cannot be changed later)' }),
    field('Type', type, { field: 'type' }),
    field('Description', description, { field: 'description' }),
    field('Owner', owner, { field: 'owner' }),
    field('Tags', tags, { field: 'tags', hint: 'comma-separated' }),
    booleanPart,
    typedPart,
    field('Enabled at once', enabled, { field: 'enabled', inline: true }),
    h('div', { class: 'buttons' },
      h('a', { class: ['button', 'secondary'], href: `#/e/${encodeURIComponent(env)}` }, 'Cancel'),
      h('button', { type: 'submit', class: 'primary' }, 'Create flag')));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = { key: key.value.trim(), enabled: enabled.checked };
    if (description.value.trim()) body.description = description.value.trim();
    if (owner.value.trim()) body.owner = owner.value.trim();
    const tagList = tags.value.split(',').map((t) => t.trim()).filter(Boolean);
    if (tagList.length) body.tags = tagList;
    if (type.value === 'boolean') {
      const n = Number(percentage.value);
      body.percentage = percentage.value.trim() !== '' && Number.isFinite(n) ? n : percentage.value;
    } else {
      body.type = type.value;
      body.variants = variants.value.split('\n').map((l) => l.trim()).filter(Boolean).map((line) => {
        const eq = line.indexOf('=');
        return eq < 0 ? { key: line, value: null } : { key: line.slice(0, eq).trim(), value: variantValue(type.value, line.slice(eq + 1).trim()) };
      });
      body.default_serve = { variant: body.variants[0]?.key ?? '' };
    }
    const created = await confirmChange({
      title: `Create ${body.key || 'the flag'}?`, env, confirmLabel: 'Create',
      summary: [h('p', null, body.enabled ? 'It is enabled at once.' : 'It starts disabled: turn it on when the code is out.')],
      run: (reason) => api('POST', path`/environments/${env}/flags`, { body, reason }),
      onFieldErrors: (err) => showErrors(form, err),
    });
    if (created) {
      remember(created);
      toast(`${created.key} created in ${env}.`);
      window.location.hash = `#/e/${encodeURIComponent(env)}/f/${encodeURIComponent(created.key)}`;
    }
  });
  return { node: form, title: 'New flag', focus: key };
}
