// One flag: kill switch, rollout slider, details, the targeting editor, the JSON and the
// history. A change made elsewhere updates the page at once; an editor with unsaved edits is
// kept, with a notice, and its save is refused (412) until it is reloaded.

import { api, path } from '../api.js';
import { h, replace, field, pct } from '../dom.js';
import { confirmChange, toast } from '../dialog.js';
import { showErrors, clearErrors } from '../forms.js';
import { state, subscribe, remember, forget } from '../state.js';
import { setRollout } from './actions.js';
import { killSwitch } from './list.js';
import { rulesEditor } from './rules.js';
import { auditList } from './history.js';
import { releasePanel } from './release.js';
import { schedulesPanel } from './schedules.js';
import { badges, flagType, rolloutText, usageText, lastChange } from './summary.js';

function rolloutCard(env, flag) {
  const form = h('form', { class: ['card', 'stack', 'rollout-form'] });
  if (flagType(flag) !== 'boolean' || flag.percentage === undefined || flag.percentage === null) {
    replace(form, h('h2', null, 'Rollout'), h('p', null, `When no rule matches: ${rolloutText(flag)}. Change it under Targeting.`));
    return form;
  }
  const current = flag.percentage;
  const slider = h('input', { type: 'range', min: 0, max: 100, step: 1, value: Math.round(current), name: 'rollout-slider' });
  const number = h('input', { type: 'number', min: 0, max: 100, step: 'any', value: current, class: 'narrow', name: 'percentage', inputmode: 'decimal' });
  const apply = h('button', { type: 'submit', class: 'primary', disabled: true }, 'Apply rollout');
  const steps = h('div', { class: 'buttons', role: 'group', 'aria-label': 'Common steps' },
    [1, 5, 25, 50, 100].map((p) => h('button', {
      type: 'button', class: ['secondary', 'small'],
      onclick() { number.value = p; slider.value = p; sync(); },
    }, pct(p))));
  const sync = () => { apply.disabled = Number(number.value) === current || number.value === ''; };
  slider.addEventListener('input', () => { number.value = slider.value; sync(); });
  number.addEventListener('input', () => { if (number.value !== '') slider.value = Math.round(Number(number.value)); sync(); });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const value = Number(number.value);
    const done = await setRollout(env, flag, Number.isFinite(value) ? value : number.value, (err) => showErrors(form, err));
    if (done) apply.disabled = true;
  });
  replace(form,
    h('h2', null, 'Rollout'),
    h('p', { class: 'muted small' }, 'Users who match no rule get the flag at this percentage, by a sticky hash of their stickiness attribute: raising it only adds users.'),
    h('div', { class: 'rollout-row' },
      field('Rollout', slider, { field: 'rollout' }),
      field('Rollout percentage', number, { field: 'percentage', hint: '0 to 100, two decimals at most' })),
    steps,
    h('div', { class: 'buttons' }, apply));
  return form;
}

function detailsForm(env, flag) {
  const description = h('input', { type: 'text', value: flag.description || '', name: 'description' });
  const tags = h('input', { type: 'text', value: (flag.tags || []).join(', '), name: 'tags', autocomplete: 'off' });
  const owner = h('input', { type: 'text', value: flag.owner || '', name: 'owner', autocomplete: 'off' });
  const expires = h('input', { type: 'text', value: flag.expires_at || '', name: 'expires_at', placeholder: '2027-03-31T00:00:00Z', autocomplete: 'off' });
  const form = h('form', { class: ['card', 'stack'] },
    h('h2', null, 'Details'),
    field('Description', description, { field: 'description' }),
    field('Tags', tags, { field: 'tags', hint: 'comma-separated' }),
    field('Owner', owner, { field: 'owner' }),
    field('Expires at', expires, { field: 'expires_at', hint: 'RFC 3339 time, or empty; a flag past it shows as stale' }),
    h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'secondary' }, 'Save details')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const patch = {};
    const tagList = tags.value.split(',').map((t) => t.trim()).filter(Boolean);
    if (description.value !== (flag.description || '')) patch.description = description.value;
    if (JSON.stringify(tagList) !== JSON.stringify(flag.tags || [])) patch.tags = tagList;
    if (owner.value.trim() !== (flag.owner || '')) patch.owner = owner.value.trim() || null;
    if (expires.value.trim() !== (flag.expires_at || '')) patch.expires_at = expires.value.trim() || null;
    if (!Object.keys(patch).length) { toast('Nothing to save.'); return; }
    const result = await confirmChange({
      title: `Save the details of ${flag.key}?`, env,
      summary: [h('ul', null, Object.entries(patch).map(([k, v]) => h('li', null, h('code', null, k), ` → ${JSON.stringify(v)}`)))],
      run: (reason) => api('PATCH', path`/environments/${env}/flags/${flag.key}`, { body: patch, reason, ifMatch: flag.version }),
      onFieldErrors: (err) => showErrors(form, err),
    });
    if (result) { remember(result); toast('Details saved.'); }
  });
  return form;
}

function targetingForm(env, flag, onDirty) {
  const notice = h('p', { class: 'warning', role: 'status', hidden: true });
  const save = h('button', { type: 'submit', class: 'primary', disabled: true }, 'Save targeting');
  const discard = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Discard edits');
  let editor;
  let base = flag;
  const form = h('form', { class: ['card', 'stack', 'targeting'], novalidate: true });
  const dirty = () => { save.disabled = false; discard.disabled = false; onDirty(true); };
  const reset = (f) => {
    base = f;
    editor = rulesEditor(f, dirty);
    replace(form, h('h2', null, 'Targeting'), notice, editor.node, h('div', { class: ['buttons', 'sticky'] }, discard, save));
    save.disabled = true;
    discard.disabled = true;
    notice.hidden = true;
    onDirty(false);
  };
  discard.addEventListener('click', () => reset(state.flags.get(flag.key) || flag));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = editor.value();
    const result = await confirmChange({
      title: `Save the targeting of ${flag.key}?`, env,
      summary: [h('p', null, `${body.rules.length} rule${body.rules.length === 1 ? '' : 's'}; when none matches: ${rolloutText(body)}.`)],
      run: (reason) => api('PUT', path`/environments/${env}/flags/${flag.key}`, { body, reason, ifMatch: base.version }),
      onFieldErrors: (err) => showErrors(form, err),
    });
    if (result) {
      reset(result);
      remember(result);
      toast('Targeting saved.');
    }
  });
  reset(flag);
  return {
    node: form,
    /** A newer version arrived: reload the editor, or keep the edits and say so. */
    update(fresh, isDirty) {
      if (!isDirty) { reset(fresh); return; }
      notice.textContent = `This flag was changed elsewhere (version ${fresh.version} by ${fresh.updated_by}). Discard your edits to see it; saving now is refused.`;
      notice.hidden = false;
    },
  };
}

export function flagPage(env, key) {
  const root = h('section', { class: 'stack flag-page' });
  let flag = state.flags.get(key);
  let dirty = false;
  let targeting = null;
  let history = null;
  let release = null;
  let schedules = null;

  function deleteButton() {
    return h('button', {
      type: 'button', class: 'danger',
      async onclick() {
        const done = await confirmChange({
          title: `Delete ${key}?`, env, confirmLabel: 'Delete', danger: true, typeToConfirm: key,
          summary: [h('p', null, 'The flag disappears from every application: they get their default value. Its history stays in the audit log.')],
          run: async (reason) => { await api('DELETE', path`/environments/${env}/flags/${key}`, { reason }); return true; },
        });
        if (done) {
          forget(key);
          toast(`${key} deleted from ${env}.`);
          window.location.hash = `#/e/${encodeURIComponent(env)}`;
        }
      },
    }, 'Delete flag');
  }

  function header() {
    return h('div', { class: 'flag-head' },
      h('p', null, h('a', { href: `#/e/${encodeURIComponent(env)}` }, `← Flags of ${env}`)),
      h('div', { class: 'title-row' },
        h('h1', null, h('code', null, key), ' ', badges(flag)),
        h('div', { class: 'switch-row' }, h('label', { for: `switch-${key}` }, 'Enabled'), killSwitch(env, flag))),
      flag.description && h('p', null, flag.description),
      h('dl', { class: 'facts' },
        h('dt', null, 'Type'), h('dd', null, flagType(flag)),
        h('dt', null, 'Version'), h('dd', null, String(flag.version)),
        h('dt', null, 'Last change'), h('dd', null, lastChange(flag)),
        h('dt', null, 'Usage'), h('dd', null, usageText(flag)),
        h('dt', null, 'Stickiness'), h('dd', null, flag.stickiness || 'user_id')));
  }

  function jsonView() {
    const { usage, ...plain } = flag;
    const text = JSON.stringify(plain, null, 2);
    return h('details', { class: 'card json' },
      h('summary', null, 'JSON'),
      h('pre', { tabindex: 0, 'aria-label': 'The flag as JSON' }, text),
      h('button', {
        type: 'button', class: ['secondary', 'small'],
        async onclick() { try { await navigator.clipboard.writeText(text); toast('JSON copied.'); } catch { toast('Copy failed: select the text instead.', 'error'); } },
      }, 'Copy JSON'));
  }

  const top = h('div', { class: 'stack' });
  const json = h('div');
  const details = h('div');
  function renderTop() {
    replace(top, header(), rolloutCard(env, flag));
    replace(details, detailsForm(env, flag));
    replace(json, jsonView());
  }

  if (!flag) {
    replace(root, h('p', null, h('a', { href: `#/e/${encodeURIComponent(env)}` }, `← Flags of ${env}`)),
      h('h1', null, h('code', null, key)), h('p', { role: 'alert' }, `There is no flag ${key} in ${env}.`));
    return { node: root, title: key };
  }
  targeting = targetingForm(env, flag, (d) => { dirty = d; });
  history = auditList(env, key);
  release = releasePanel(env, key);
  schedules = schedulesPanel(env, key);
  renderTop();
  replace(root, top, release.node, schedules.node, targeting.node,
    h('section', { class: ['card', 'stack'] }, h('h2', null, 'History'), history.node),
    json, details,
    h('section', { class: ['card', 'stack', 'danger-zone'] }, h('h2', null, 'Delete'), deleteButton()));

  const stop = subscribe((c) => {
    if (c.type !== 'flag' && c.type !== 'all') return;
    const fresh = state.flags.get(key);
    if (!fresh) {
      replace(root, h('p', null, h('a', { href: `#/e/${encodeURIComponent(env)}` }, `← Flags of ${env}`)),
        h('p', { role: 'alert', class: 'warning' }, `${key} was deleted.`));
      return;
    }
    if (fresh.version === flag.version && c.type !== 'all') return;
    const changedVersion = fresh.version !== flag.version;
    const focusedName = document.activeElement?.name;
    flag = fresh;
    renderTop();
    if (changedVersion) targeting.update(fresh, dirty);
    if (focusedName) root.querySelector(`[name="${CSS.escape(focusedName)}"]`)?.focus();
  });
  return { node: root, title: key, unmount: () => { stop(); history.stop(); release.stop(); schedules.stop(); } };
}
