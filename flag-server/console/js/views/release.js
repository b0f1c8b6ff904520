// A flag's release plan (`.../flags/{key}/release`): the server raises the flag's percentage
// step by step, checks a guard meanwhile and sets the flag back when the guard fails. The
// panel shows the flag's latest plan (where it is, its steps, its guard and the last check),
// pauses, resumes or aborts it, and starts a new one when none is active. A plan's own state
// is not in the stream, so while one is active the panel reads it every 2 seconds; the flag's
// changes (its steps) arrive through the stream as any other change.

import { api, path } from '../api.js';
import { h, replace, field, when, pct } from '../dom.js';
import { confirmChange, toast } from '../dialog.js';
import { showErrors, clearErrors } from '../forms.js';
import { state, subscribe } from '../state.js';
import { flagType } from './summary.js';

/** How often an active plan is read again. */
const POLL_MS = 2000;

const STATUS = {
  running: { label: 'running', icon: '▶' },
  paused: { label: 'paused', icon: '⏸' },
  completed: { label: 'completed', icon: '✓' },
  rolled_back: { label: 'rolled back', icon: '↺' },
  aborted: { label: 'aborted', icon: '■' },
};

const OPS = { lt: '<', lte: '≤', gt: '>', gte: '≥' };

/** Running or paused: the plan may still change the flag. */
export function isActive(plan) {
  return !!plan && (plan.status === 'running' || plan.status === 'paused');
}

/** The percentage a plan has set so far (its last applied step), or null before the first. */
export function appliedPercentage(plan) {
  return plan.step > 0 ? plan.steps[plan.step - 1] : null;
}

/** The plan's status as a badge: colour, icon and words. */
export function statusBadge(status) {
  const s = STATUS[status] || { label: status, icon: '•' };
  return h('span', { class: ['release-status', status] }, h('span', { 'aria-hidden': 'true' }, `${s.icon} `), s.label);
}

/** "HTTP http://…/health, every 10s" or "Prometheus …: query < 0.5". */
function guardText(guard) {
  if (!guard) return [h('span', { class: 'muted' }, 'none: the plan only waits between steps')];
  const every = guard.check_interval || '10s';
  if (guard.type === 'http') {
    return [h('span', null, 'HTTP '), h('code', null, guard.url), h('span', { class: 'muted' }, `, every ${every}: passes while it answers 2xx`)];
  }
  return [h('span', null, 'Prometheus '), h('code', null, guard.url), h('span', null, ': '),
    h('code', null, guard.query), ` ${OPS[guard.op] || guard.op} ${guard.threshold}`,
    h('span', { class: 'muted' }, `, every ${every}${guard.no_data_passes ? '; no data passes' : '; no data fails'}`)];
}

function stepsList(plan) {
  return h('ol', { class: 'steps', 'aria-label': 'Percentages of the plan' }, plan.steps.map((p, i) => {
    const done = i < plan.step;
    const current = i === plan.step - 1;
    return h('li', { class: ['step', done && 'done', current && 'current'] },
      done && h('span', { 'aria-hidden': 'true' }, '✓ '), pct(p),
      h('span', { class: 'visually-hidden' }, done ? ' (done)' : ' (to do)'));
  }));
}

function planView(env, key, plan, controls) {
  const n = plan.steps.length;
  const applied = appliedPercentage(plan);
  const facts = [
    ['Step', `${plan.step} of ${n}${applied === null ? '' : ` (${pct(applied)})`}`],
    plan.next_at && [plan.step < n ? 'Next step' : 'Completes', when(plan.next_at)],
    ['Interval', plan.interval],
    ['Guard', guardText(plan.guard)],
    plan.guard && ['Last check', plan.last_check
      ? h('span', { class: 'last-check' },
        h('span', { class: ['outcome', plan.last_check.outcome] }, plan.last_check.outcome), ' ',
        h('span', { class: 'detail' }, plan.last_check.detail), ' · ', when(plan.last_check.at))
      : h('span', { class: 'muted' }, 'not yet')],
    ['Rollback to', pct(plan.rollback_to)],
    ['Started', h('span', null, when(plan.created_at), ` by ${plan.created_by}`)],
    plan.reason && ['Reason', plan.reason],
  ].filter(Boolean);
  return h('div', { class: ['release-plan', 'stack', plan.status], dataset: { id: plan.id, status: plan.status } },
    h('div', { class: 'release-head' }, statusBadge(plan.status), h('span', { class: 'muted small' }, h('code', null, plan.id))),
    stepsList(plan),
    plan.message && h('p', { class: ['release-message', plan.status === 'rolled_back' && 'warning'] }, plan.message),
    h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])),
    isActive(plan) && h('div', { class: 'buttons' }, controls));
}

/** Reads "1, 5, 25, 100": numbers, or the text itself so the server names the mistake. */
function readSteps(text) {
  return text.split(/[\s,]+/).filter(Boolean).map((s) => {
    const n = Number(s.replace(/%$/, ''));
    return Number.isFinite(n) ? n : s;
  });
}

function readNumber(input, fallback) {
  const text = input.value.trim();
  if (text === '') return fallback;
  const n = Number(text);
  return Number.isFinite(n) ? n : text;
}

function startForm(env, key, onStarted) {
  const steps = h('input', { type: 'text', name: 'release-steps', value: '1, 5, 25, 100', autocomplete: 'off', spellcheck: 'false' });
  const interval = h('input', { type: 'text', name: 'release-interval', value: '10m', autocomplete: 'off', spellcheck: 'false', class: 'narrow' });
  const rollback = h('input', { type: 'number', name: 'release-rollback', value: 0, min: 0, max: 100, step: 'any', class: 'narrow', inputmode: 'decimal' });
  const guardType = h('select', { name: 'release-guard' },
    h('option', { value: '' }, 'none'), h('option', { value: 'http' }, 'HTTP check'), h('option', { value: 'prometheus' }, 'Prometheus query'));
  const url = h('input', { type: 'url', name: 'release-guard-url', autocomplete: 'off', spellcheck: 'false', placeholder: 'https://checkout.internal/health' });
  const checkEvery = h('input', { type: 'text', name: 'release-guard-interval', autocomplete: 'off', spellcheck: 'false', placeholder: '10s', class: 'narrow' });
  const query = h('textarea', { name: 'release-guard-query', rows: 2, spellcheck: 'false', placeholder: 'sum(rate(http_errors_total{app="checkout"}[1m]))' });
  const op = h('select', { name: 'release-guard-op' }, Object.entries(OPS).map(([v, s]) => h('option', { value: v }, s)));
  const threshold = h('input', { type: 'number', name: 'release-guard-threshold', step: 'any', class: 'narrow', inputmode: 'decimal', value: 0.5 });
  const noData = h('input', { type: 'checkbox', name: 'release-guard-no-data' });
  const guardFields = h('div', { class: ['guard-fields', 'stack'], hidden: true },
    field('Guard URL', url, { field: 'guard.url', hint: 'http:// or https://' }),
    h('div', { class: 'prometheus-fields stack', hidden: true },
      field('Query', query, { field: 'guard.query', hint: 'a PromQL instant query; /api/v1/query is added to the URL' }),
      h('div', { class: 'release-row' },
        field('Passes while the value is', op, { field: 'guard.op' }),
        field('Threshold', threshold, { field: 'guard.threshold' })),
      field('No data passes', noData, { field: 'guard.no_data_passes', inline: true })),
    field('Check every', checkEvery, { field: 'guard.check_interval', hint: '1s to 1h; 10s when empty' }));
  const promFields = guardFields.querySelector('.prometheus-fields');
  guardType.addEventListener('change', () => {
    guardFields.hidden = !guardType.value;
    promFields.hidden = guardType.value !== 'prometheus';
  });
  const form = h('form', { class: ['stack', 'release-form'], novalidate: true },
    h('p', { class: 'muted small' }, 'The server raises the percentage step by step, one interval apart, and sets it back to the rollback percentage as soon as the guard fails. Steps at or below the current percentage count as done.'),
    field('Steps', steps, { field: 'steps', hint: 'percentages, increasing, comma-separated' }),
    h('div', { class: 'release-row' },
      field('Interval', interval, { field: 'interval', hint: 'between steps: 30s, 10m, 2h, 1d' }),
      field('Rollback to', rollback, { field: 'rollback_to', hint: 'percentage when the guard fails' })),
    field('Guard', guardType, { field: 'guard' }),
    guardFields,
    h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Start release')));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = { steps: readSteps(steps.value), interval: interval.value.trim() };
    const back = readNumber(rollback, undefined);
    if (back !== undefined) body.rollback_to = back;
    if (guardType.value) {
      const guard = { type: guardType.value, url: url.value.trim() };
      if (guardType.value === 'prometheus') {
        Object.assign(guard, { query: query.value.trim(), op: op.value, threshold: readNumber(threshold, null), no_data_passes: noData.checked });
      }
      if (checkEvery.value.trim()) guard.check_interval = checkEvery.value.trim();
      body.guard = guard;
    }
    const shown = body.steps.map((s) => (typeof s === 'number' ? pct(s) : String(s))).join(' → ');
    const plan = await confirmChange({
      title: `Start a release of ${key}?`,
      env,
      confirmLabel: 'Start release',
      summary: [
        h('p', null, h('strong', null, shown), `, one step every ${body.interval || '?'}; the first step is applied at once.`),
        h('p', null, body.guard ? `Guard: ${body.guard.type === 'http' ? 'HTTP' : 'Prometheus'} ${body.guard.url}; when it fails the flag goes back to ${pct(body.rollback_to ?? 0)}.`
          : 'No guard: nothing rolls the flag back by itself.'),
      ],
      run: (reason) => api('POST', path`/environments/${env}/flags/${key}/release`, { body, reason }),
      onFieldErrors: (err) => showErrors(form, err),
    });
    if (plan) {
      toast(`Release of ${key} started in ${env}.`);
      onStarted(plan);
    }
  });
  return form;
}

/**
 * The release panel of `key`: `{node, stop}`. Reads the flag's plan at once, again on each
 * change of the flag, and every 2 s while the plan is active.
 */
export function releasePanel(env, key) {
  const status = h('p', { class: 'muted', role: 'status' });
  const planBox = h('div', { class: 'release-current', 'aria-live': 'polite' });
  const start = h('details', { class: 'release-start' }, h('summary', null, 'Start a release'), startForm(env, key, (plan) => show(plan)));
  const typedNote = h('p', { class: 'muted', hidden: true }, 'A release raises the percentage of a boolean flag; this flag serves variants.');
  const node = h('section', { class: ['card', 'stack', 'release'], 'aria-labelledby': `release-${key}` },
    h('h2', { id: `release-${key}` }, 'Release'), status, planBox, typedNote, start);
  let plan = null;
  let timer = null;
  let stopped = false;
  let reading = null;

  function control(action, label, { danger = false, summary }) {
    return h('button', {
      type: 'button', class: danger ? 'danger' : 'secondary', dataset: { action },
      async onclick() {
        const result = await confirmChange({
          title: `${label} the release of ${key}?`, env, confirmLabel: label, danger,
          reasonLabel: 'Reason (optional)',
          summary: [h('p', null, summary)],
          run: (reason) => api('POST', path`/environments/${env}/flags/${key}/release/${action}`, { reason }),
        });
        if (result) {
          toast(`Release of ${key}: ${STATUS[result.status]?.label || result.status}.`);
          show(result);
        }
      },
    }, label);
  }

  function render() {
    const focused = node.contains(document.activeElement) ? document.activeElement.dataset?.action : null;
    const controls = plan && [
      plan.status === 'running' && control('pause', 'Pause', { summary: 'No step and no guard check until it is resumed; the flag stays where it is.' }),
      plan.status === 'paused' && control('resume', 'Resume', { summary: 'The current step is watched for a whole interval before the next one.' }),
      control('abort', 'Abort', { danger: true, summary: 'The plan stops for good; the flag stays where it is.' }),
    ];
    replace(planBox, plan ? planView(env, key, plan, controls) : null);
    status.textContent = plan ? '' : 'This flag has no release plan.';
    const flag = state.flags.get(key);
    const typed = !!flag && flagType(flag) !== 'boolean';
    typedNote.hidden = !typed || isActive(plan);
    start.hidden = typed || isActive(plan);
    if (focused) planBox.querySelector(`[data-action="${focused}"]`)?.focus();
  }

  function schedule() {
    clearTimeout(timer);
    timer = null;
    if (!stopped && isActive(plan)) timer = setTimeout(load, POLL_MS);
  }

  function show(fresh) {
    plan = fresh;
    render();
    schedule();
  }

  async function load() {
    if (stopped) return;
    if (reading) { reading.again = true; return; }
    reading = { again: false };
    try {
      show(await api('GET', path`/environments/${env}/flags/${key}/release`));
    } catch (err) {
      if (err.status === 404) show(null);
      else {
        status.textContent = `The release plan could not be read: ${err.message}`;
        schedule();
      }
    } finally {
      const again = reading.again;
      reading = null;
      if (again) load();
    }
  }

  render();
  load();
  const unsubscribe = subscribe((c) => {
    if ((c.type === 'flag' && c.key === key) || c.type === 'all') load();
  });
  return {
    node,
    stop() { stopped = true; clearTimeout(timer); unsubscribe(); },
  };
}
