// The flag list: search and filters (tag, owner, enabled, stale), and per flag its kill
// switch, its rollout, its last change and its usage. Rows follow the admin stream.

import { api, path } from '../api.js';
import { h, replace, field, pct } from '../dom.js';
import { state, subscribe, staleness, refreshUsage } from '../state.js';
import { isActive, appliedPercentage } from './release.js';
import { setEnabled } from './actions.js';
import { rolloutText, badges, usageText, lastChange } from './summary.js';

// Filters survive a visit to a flag and back.
const filters = { q: '', tag: '', owner: '', enabled: '', stale: false };

function matches(flag) {
  const q = filters.q.trim().toLowerCase();
  if (q && !`${flag.key} ${flag.description || ''}`.toLowerCase().includes(q)) return false;
  if (filters.tag && !(flag.tags || []).includes(filters.tag)) return false;
  if (filters.owner && (flag.owner || '') !== filters.owner) return false;
  if (filters.enabled && String(flag.enabled) !== filters.enabled) return false;
  if (filters.stale && !staleness(flag)) return false;
  return true;
}

export function killSwitch(env, flag) {
  const input = h('input', {
    type: 'checkbox', role: 'switch', checked: flag.enabled, class: 'switch',
    'aria-label': `${flag.key} enabled`, id: `switch-${flag.key}`,
  });
  input.addEventListener('change', async () => {
    const wanted = input.checked;
    input.checked = !wanted; // the change happens only once confirmed
    const result = await setEnabled(env, flag, wanted);
    if (result) input.checked = result.enabled;
    input.focus();
  });
  return input;
}

/** "releasing 25%" for a flag with a running plan, "release paused at 25%" for a paused one. */
function releaseBadge(flag, plan) {
  if (!isActive(plan)) return null;
  const at = appliedPercentage(plan) ?? flag.percentage ?? 0;
  const text = plan.status === 'running' ? `releasing ${pct(at)}` : `release paused at ${pct(at)}`;
  return h('span', {
    class: ['badge', 'releasing', plan.status],
    title: `Release plan ${plan.id}: step ${plan.step} of ${plan.steps.length} (${plan.steps.map(pct).join(', ')})`,
  }, text);
}

function row(env, flag, plan) {
  const href = `#/e/${encodeURIComponent(env)}/f/${encodeURIComponent(flag.key)}`;
  return h('tr', { dataset: { key: flag.key } },
    h('th', { scope: 'row', class: 'flag-cell' },
      h('a', { href, class: 'key' }, flag.key), ' ', badges(flag),
      h('span', { class: 'release-slot' }, releaseBadge(flag, plan)),
      flag.description && h('div', { class: 'muted small' }, flag.description),
      (flag.tags?.length || flag.owner) && h('div', { class: 'small' },
        (flag.tags || []).map((t) => h('span', { class: 'tag' }, t)),
        flag.owner && h('span', { class: 'muted' }, ` owner ${flag.owner}`))),
    h('td', { 'data-label': 'Enabled' }, killSwitch(env, flag)),
    h('td', { 'data-label': 'Rollout', class: 'rollout' }, rolloutText(flag)),
    h('td', { 'data-label': 'Last change' }, lastChange(flag)),
    h('td', { 'data-label': 'Usage' }, usageText(flag)));
}

function options(values, all) {
  return [h('option', { value: '' }, all), ...[...values].sort().map((v) => h('option', { value: v }, v))];
}

export function flagList(env) {
  const body = h('tbody');
  const count = h('p', { class: 'muted', role: 'status' });
  const search = h('input', { type: 'search', name: 'q', value: filters.q, placeholder: 'key or description', autocomplete: 'off' });
  const tag = h('select', { name: 'tag' });
  const owner = h('select', { name: 'owner' });
  const enabled = h('select', { name: 'enabled' },
    h('option', { value: '' }, 'all'), h('option', { value: 'true' }, 'enabled'), h('option', { value: 'false' }, 'disabled'));
  enabled.value = filters.enabled;
  const stale = h('input', { type: 'checkbox', name: 'stale', checked: filters.stale });
  /** key → the flag's latest release plan. */
  let releases = new Map();
  let releaseTimer = null;
  let stopped = false;

  function renderChoices() {
    const flags = [...state.flags.values()];
    replace(tag, options(new Set(flags.flatMap((f) => f.tags || [])), 'any tag'));
    replace(owner, options(new Set(flags.map((f) => f.owner).filter(Boolean)), 'any owner'));
    tag.value = filters.tag;
    owner.value = filters.owner;
  }

  function render() {
    const all = [...state.flags.values()].sort((a, b) => a.key.localeCompare(b.key));
    const shown = all.filter(matches);
    replace(body, shown.map((f) => row(env, f, releases.get(f.key))));
    if (!shown.length) {
      body.append(h('tr', null, h('td', { colspan: 5, class: 'empty' },
        all.length ? 'No flag matches these filters.' : 'No flags yet. Create the first one.')));
    }
    count.textContent = `${shown.length} of ${all.length} flags`;
  }

  for (const [control, name, event] of [[search, 'q', 'input'], [tag, 'tag', 'change'], [owner, 'owner', 'change'], [enabled, 'enabled', 'change']]) {
    control.addEventListener(event, () => { filters[name] = control.value; render(); });
  }
  stale.addEventListener('change', () => { filters.stale = stale.checked; render(); });

  renderChoices();
  render();
  // Usage is not in the stream: read it when the list opens, then every minute.
  const refresh = () => refreshUsage().catch(() => {});
  const timer = setInterval(refresh, 60_000);
  refresh();

  // Release plans are not in the stream: read them with the list, again shortly after a flag
  // changes (a step of a plan is a flag change), and when an active plan is next due.
  function showReleases() {
    for (const tr of body.querySelectorAll('tr[data-key]')) {
      const flag = state.flags.get(tr.dataset.key);
      const slot = tr.querySelector('.release-slot');
      if (flag && slot) replace(slot, releaseBadge(flag, releases.get(flag.key)));
    }
  }
  async function loadReleases() {
    clearTimeout(releaseTimer);
    releaseTimer = null;
    try {
      const list = await api('GET', path`/environments/${env}/releases`);
      if (stopped) return;
      releases = new Map(list.releases.map((p) => [p.key, p]));
      showReleases();
    } catch {
      // The badges are extras: the list works without them.
    }
    if (stopped) return;
    const due = [...releases.values()].filter(isActive).map((p) => (p.next_at ? Date.parse(p.next_at) : Date.now() + 30_000));
    if (due.length) {
      const wait = Math.min(Math.max(Math.min(...due) - Date.now() + 500, 1000), 30_000);
      releaseTimer = setTimeout(loadReleases, wait);
    }
  }
  const soon = () => { clearTimeout(releaseTimer); releaseTimer = setTimeout(loadReleases, 300); };
  loadReleases();

  const unsubscribe = subscribe((change) => {
    if (change.type === 'all' || change.type === 'flag') soon();
    if (change.type === 'all') { renderChoices(); render(); return; }
    if (change.type !== 'flag') return;
    const focused = document.activeElement?.closest?.('tr')?.dataset.key;
    const existing = body.querySelector(`tr[data-key="${CSS.escape(change.key)}"]`);
    if (change.flag && existing && matches(change.flag)) {
      const fresh = row(env, state.flags.get(change.key), releases.get(change.key));
      fresh.classList.add('flash');
      existing.replaceWith(fresh);
      if (focused === change.key) fresh.querySelector('input.switch')?.focus();
    } else {
      render();
    }
    renderChoices();
  });

  const node = h('section', { class: 'stack' },
    h('div', { class: 'title-row' },
      h('h1', null, 'Flags'),
      h('a', { class: ['button', 'primary'], href: `#/e/${encodeURIComponent(env)}/new` }, 'New flag')),
    h('form', { class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault() },
      field('Search', search),
      field('Tag', tag),
      field('Owner', owner),
      field('State', enabled),
      field('Stale only', stale, { inline: true })),
    count,
    h('table', { class: 'flags' },
      h('caption', { class: 'visually-hidden' }, `Flags of ${env}`),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Flag'), h('th', { scope: 'col' }, 'Enabled'), h('th', { scope: 'col' }, 'Rollout'),
        h('th', { scope: 'col' }, 'Last change'), h('th', { scope: 'col' }, 'Usage'))),
      body));
  const stop = () => { stopped = true; clearInterval(timer); clearTimeout(releaseTimer); unsubscribe(); };
  return { node, title: `Flags of ${env}`, unmount: stop, focus: null };
}
