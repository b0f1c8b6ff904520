// Short descriptions of a flag, shared by the list and the flag page.

import { h, pct, when } from '../dom.js';
import { staleness } from '../state.js';

function serveText(serve) {
  if (!serve) return '';
  if (serve.variant !== undefined) return `serves ${serve.variant}`;
  if (serve.split) return `split ${serve.split.map((s) => `${s.variant} ${pct(s.weight / 100)}`).join(' / ')}`;
  return '';
}

/** What the flag serves when no rule matches, with the number of rules: "25% · 2 rules". */
export function rolloutText(flag) {
  const base = flag.percentage !== undefined && flag.percentage !== null
    ? pct(flag.percentage) : serveText(flag.default_serve);
  const rules = flag.rules?.length ? ` · ${flag.rules.length} rule${flag.rules.length > 1 ? 's' : ''}` : '';
  return `${base}${rules}`;
}

/** The flag's type, `boolean` when the JSON leaves it out. */
export function flagType(flag) {
  return flag.type || 'boolean';
}

/** Badges: the type (when not boolean) and staleness. */
export function badges(flag) {
  const stale = staleness(flag);
  return [
    flagType(flag) !== 'boolean' && h('span', { class: 'badge' }, flagType(flag)),
    stale && h('span', {
      class: ['badge', 'stale'],
      title: stale === 'expired' ? `Past its expiry (${flag.expires_at})` : 'Not evaluated for 30 days: a candidate for removal',
    }, stale === 'expired' ? 'stale: expired' : 'stale'),
  ];
}

/** Evaluation counts and when the flag was last evaluated. */
export function usageText(flag) {
  const u = flag.usage;
  if (!u || (!u.yes && !u.no)) return h('span', { class: 'muted' }, 'not evaluated');
  const n = (x) => Number(x).toLocaleString('en');
  return h('span', null, `${n(u.yes)} on · ${n(u.no)} off, last `, when(u.last_evaluated));
}

/** "2 minutes ago by alice". */
export function lastChange(flag) {
  return h('span', null, when(flag.updated_at), flag.updated_by ? ` by ${flag.updated_by}` : '');
}
