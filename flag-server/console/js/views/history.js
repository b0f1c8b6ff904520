// The audit log: who changed what, when and why, with a before/after diff of each change.
// A flag's page shows its own entries (`?flag=KEY`); the History page shows the environment's.

import { api, path } from '../api.js';
import { h, replace, when, brief } from '../dom.js';
import { subscribe } from '../state.js';

const SERVER_SET = new Set(['version', 'updated_at', 'updated_by', 'usage']);

/** The fields that differ between two objects, by path (`rules[1].percentage`), in order. */
export function diff(before, after, prefix = '') {
  const out = [];
  const isObj = (v) => v && typeof v === 'object' && !Array.isArray(v);
  if (Array.isArray(before) && Array.isArray(after)) {
    const n = Math.max(before.length, after.length);
    for (let i = 0; i < n; i += 1) out.push(...diff(before[i], after[i], `${prefix}[${i}]`));
    return out;
  }
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    for (const k of keys) {
      if (!prefix && SERVER_SET.has(k)) continue;
      out.push(...diff(before[k], after[k], prefix ? `${prefix}.${k}` : k));
    }
    return out;
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) out.push({ field: prefix, before, after });
  return out;
}

const ACTIONS = {
  create: 'created', update: 'changed', delete: 'deleted', restore: 'restored the environment',
  segment_create: 'created segment', segment_update: 'changed segment', segment_delete: 'deleted segment',
};

function changesTable(entry) {
  const before = entry.before ?? entry.segment_before;
  const after = entry.after ?? entry.segment_after;
  if (entry.action === 'restore') {
    return h('p', { class: 'muted small' }, `Wrote back ${JSON.stringify(entry.restored)} after the store lost its data.`);
  }
  const rows = diff(before || {}, after || {});
  if (!rows.length) return h('p', { class: 'muted small' }, 'No field changed.');
  return h('table', { class: 'diff' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Before'), h('th', { scope: 'col' }, 'After'))),
    h('tbody', null, rows.map((r) => h('tr', null,
      h('th', { scope: 'row' }, h('code', null, r.field)),
      h('td', { class: 'before' }, h('code', null, brief(r.before))),
      h('td', { class: 'after' }, h('code', null, brief(r.after)))))));
}

/** One audit entry: version, time, actor, action, reason, and its diff. */
export function entryView(env, entry, { showKey = true } = {}) {
  const key = entry.key && showKey && (entry.action.startsWith('segment')
    ? h('code', null, entry.key)
    : h('a', { href: `#/e/${encodeURIComponent(env)}/f/${encodeURIComponent(entry.key)}` }, entry.key));
  return h('li', { class: 'entry', dataset: { version: entry.version } },
    h('p', { class: 'entry-head' },
      h('strong', null, entry.actor), ` ${ACTIONS[entry.action] || entry.action} `, key, ' · ',
      when(entry.at), h('span', { class: 'muted' }, ` · v${entry.version}`)),
    entry.reason ? h('p', { class: 'reason' }, h('span', { class: 'muted' }, 'Reason: '), entry.reason)
      : h('p', { class: 'reason muted' }, 'No reason given.'),
    changesTable(entry));
}

/**
 * A paged list of audit entries (of one flag when `flag` is set), refreshed when the stream
 * reports a change it concerns. Answers `{node, stop}`.
 */
export function auditList(env, flag) {
  const list = h('ol', { class: 'entries' });
  const status = h('p', { class: 'muted', role: 'status' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Older changes');
  let next = null;

  async function load(reset) {
    const query = new URLSearchParams({ limit: '20' });
    if (flag) query.set('flag', flag);
    if (!reset && next !== null) query.set('before', String(next));
    try {
      const page = await api('GET', `${path`/environments/${env}/audit`}?${query}`);
      if (reset) replace(list);
      list.append(...page.entries.map((e) => entryView(env, e, { showKey: !flag })));
      next = page.next_before ?? null;
      more.hidden = next === null;
      status.textContent = list.children.length ? '' : 'No changes recorded yet.';
    } catch (err) {
      status.textContent = `The history could not be read: ${err.message}`;
    }
  }
  more.addEventListener('click', () => load(false));
  load(true);
  const stop = subscribe((c) => {
    if ((c.type === 'flag' && (!flag || c.key === flag)) || (c.type === 'segment' && !flag) || c.type === 'all') load(true);
  });
  return { node: h('div', { class: 'history' }, status, list, more), stop };
}

/** The History page of an environment. */
export function envHistory(env) {
  const { node, stop } = auditList(env, null);
  return {
    node: h('section', { class: 'stack' }, h('h1', null, `History of ${env}`), node),
    title: `History of ${env}`,
    unmount: stop,
  };
}
