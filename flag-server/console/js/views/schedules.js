// A flag's scheduled changes (`.../flags/{key}/schedule`): a merge patch the server applies
// once, at its time, as the person who scheduled it and with their reason. The panel lists
// them (pending first, then the applied and failed ones of the last 7 days), cancels a pending
// one, and schedules a new one: enable, disable or set the percentage, at a local time sent
// as UTC.

import { api, path } from '../api.js';
import { h, replace, field, when, pct, brief } from '../dom.js';
import { confirmChange, toast } from '../dialog.js';
import { showErrors, clearErrors } from '../forms.js';
import { subscribe } from '../state.js';

/** What a patch does, in words: "enable", "set the percentage to 25%". */
export function patchText(patch) {
  const keys = Object.keys(patch || {});
  if (keys.length === 1 && keys[0] === 'enabled') return patch.enabled ? 'enable' : 'disable';
  if (keys.length === 1 && keys[0] === 'percentage' && typeof patch.percentage === 'number') {
    return `set the percentage to ${pct(patch.percentage)}`;
  }
  return `apply ${brief(patch)}`;
}

/** `2026-12-01T09:30:15` (a datetime-local value, the browser's time zone) → RFC 3339 UTC. */
export function localToUtc(value) {
  const t = new Date(value);
  return Number.isNaN(t.getTime()) ? null : t.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A Date as a datetime-local value (local time, to the second). */
function toLocalInput(date) {
  const p = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

function timeZone() {
  const minutes = -new Date().getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const a = Math.abs(minutes);
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return `UTC${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}${zone ? `, ${zone}` : ''}`;
}

function byStatus(a, b) {
  const pa = a.status === 'pending' ? 0 : 1;
  const pb = b.status === 'pending' ? 0 : 1;
  if (pa !== pb) return pa - pb;
  // Pending: soonest first; done: latest first.
  return pa === 0 ? Date.parse(a.at) - Date.parse(b.at) : Date.parse(b.done_at || b.at) - Date.parse(a.done_at || a.at);
}

/**
 * The scheduled changes of `key`: `{node, stop}`. Read at once, again on each change of the
 * flag (an applied change arrives through the stream), and when the next pending one is due.
 */
export function schedulesPanel(env, key) {
  const status = h('p', { class: 'muted', role: 'status' });
  const list = h('ol', { class: 'schedules', 'aria-label': 'Scheduled changes' });
  let timer = null;
  let stopped = false;
  let reading = null;

  function cancelButton(change) {
    return h('button', {
      type: 'button', class: ['secondary', 'small'], 'aria-label': `Cancel the change of ${new Date(change.at).toLocaleString()}: ${patchText(change.patch)}`,
      async onclick() {
        const done = await confirmChange({
          title: `Cancel this scheduled change of ${key}?`, env, confirmLabel: 'Cancel the change', dismissLabel: 'Keep it', danger: true,
          reasonLabel: 'Reason (optional)',
          summary: [h('p', null, `It would ${patchText(change.patch)} `, when(change.at), '. Nothing is written to the flag.')],
          run: async (reason) => { await api('DELETE', path`/environments/${env}/flags/${key}/schedule/${change.id}`, { reason }); return true; },
        });
        if (done) {
          toast('Scheduled change cancelled.');
          load();
        }
      },
    }, 'Cancel');
  }

  function item(change) {
    const outcome = change.status === 'applied'
      ? h('span', null, 'applied', change.version ? ` as v${change.version}` : '', change.done_at ? [' ', when(change.done_at)] : '')
      : change.status === 'failed' ? h('span', { class: 'error' }, `failed: ${change.error || 'unknown error'}`) : null;
    return h('li', { class: ['schedule', change.status], dataset: { id: change.id, status: change.status } },
      h('p', { class: 'schedule-head' },
        h('span', { class: ['schedule-status', change.status] }, change.status), ' ',
        h('strong', null, patchText(change.patch)), ' ',
        change.status === 'pending' ? when(change.at) : h('span', { class: 'muted' }, '(due ', when(change.at), ')'),
        h('span', { class: 'muted' }, ` · by ${change.created_by}`)),
      change.reason ? h('p', { class: 'reason' }, h('span', { class: 'muted' }, 'Reason: '), change.reason) : null,
      outcome && h('p', { class: 'small' }, outcome),
      change.status === 'pending' && h('div', { class: 'buttons' }, cancelButton(change)));
  }

  function render(schedules) {
    const sorted = [...schedules].sort(byStatus);
    replace(list, sorted.map(item));
    status.textContent = sorted.length ? '' : 'No change scheduled.';
  }

  /** Reads again when something is due: a pending change's time, or a change being applied. */
  function plan(schedules) {
    clearTimeout(timer);
    timer = null;
    if (stopped) return;
    const now = Date.now();
    const settling = schedules.some((c) => (c.status === 'pending' && Date.parse(c.at) <= now) || (c.status === 'applied' && !c.version));
    const next = Math.min(...schedules.filter((c) => c.status === 'pending').map((c) => Date.parse(c.at)));
    let wait = null;
    if (settling) wait = 1000;
    else if (Number.isFinite(next)) wait = Math.min(Math.max(next - now + 500, 500), 3600_000);
    if (wait !== null) timer = setTimeout(load, wait);
  }

  async function load() {
    if (stopped) return;
    if (reading) { reading.again = true; return; }
    reading = { again: false };
    try {
      const answer = await api('GET', path`/environments/${env}/flags/${key}/schedule`);
      render(answer.schedules);
      plan(answer.schedules);
    } catch (err) {
      status.textContent = `The scheduled changes could not be read: ${err.message}`;
    } finally {
      const again = reading.again;
      reading = null;
      if (again) load();
    }
  }

  const at = h('input', { type: 'datetime-local', name: 'schedule-at', step: 1, required: true });
  const what = h('select', { name: 'schedule-what' },
    h('option', { value: 'enable' }, 'enable the flag'),
    h('option', { value: 'disable' }, 'disable the flag'),
    h('option', { value: 'percentage' }, 'set the percentage'));
  const percentage = h('input', { type: 'number', name: 'schedule-percentage', min: 0, max: 100, step: 'any', class: 'narrow', inputmode: 'decimal', value: 100 });
  const percentageField = field('Percentage', percentage, { field: 'patch.percentage', hint: '0 to 100' });
  percentageField.hidden = true;
  what.addEventListener('change', () => { percentageField.hidden = what.value !== 'percentage'; });
  const form = h('form', { class: ['stack', 'schedule-form'], novalidate: true },
    h('div', { class: 'release-row' },
      field('When', at, { field: 'at', hint: `your local time (${timeZone()})` }),
      field('Change', what, { field: 'patch' })),
    percentageField,
    h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Schedule')));
  at.value = toLocalInput(new Date(Date.now() + 3600_000));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const utc = localToUtc(at.value);
    if (!utc) {
      showErrors(form, { message: 'Pick a time.', fieldErrors: [{ field: 'at', message: 'pick a date and a time' }] });
      return;
    }
    let patch;
    if (what.value === 'enable') patch = { enabled: true };
    else if (what.value === 'disable') patch = { enabled: false };
    else {
      const text = percentage.value.trim();
      const n = Number(text);
      patch = { percentage: text !== '' && Number.isFinite(n) ? n : text };
    }
    const created = await confirmChange({
      title: `Schedule a change of ${key}?`, env, confirmLabel: 'Schedule',
      summary: [h('p', null, `The server will ${patchText(patch)} `, when(utc), ` (${utc}), as you and with this reason.`)],
      run: (reason) => api('POST', path`/environments/${env}/flags/${key}/schedule`, { body: reason ? { at: utc, patch, reason } : { at: utc, patch } }),
      onFieldErrors: (err) => showErrors(form, err),
    });
    if (created) {
      toast(`Change of ${key} scheduled.`);
      at.value = toLocalInput(new Date(Date.now() + 3600_000));
      load();
    }
  });

  const node = h('section', { class: ['card', 'stack', 'schedules-panel'], 'aria-labelledby': `schedules-${key}` },
    h('h2', { id: `schedules-${key}` }, 'Scheduled changes'), status, list,
    h('details', { class: 'schedule-start' }, h('summary', null, 'Schedule a change'), form));
  load();
  const unsubscribe = subscribe((c) => {
    if ((c.type === 'flag' && c.key === key) || c.type === 'all') load();
  });
  return {
    node,
    stop() { stopped = true; clearTimeout(timer); unsubscribe(); },
  };
}
