// The writes made from more than one page: the kill switch and the rollout.
// Both are one-field merge patches without If-Match: a kill switch must go through even when
// someone else changed the flag a moment ago, and a patch of one field cannot undo theirs.

import { api, path } from '../api.js';
import { h, pct } from '../dom.js';
import { confirmChange, toast } from '../dialog.js';
import { remember } from '../state.js';

/** Turns a flag on or off after the change dialog; resolves to the new flag or null. */
export async function setEnabled(env, flag, enabled) {
  const verb = enabled ? 'Enable' : 'Disable';
  const result = await confirmChange({
    title: `${verb} ${flag.key}?`,
    env,
    confirmLabel: verb,
    danger: !enabled,
    summary: [h('p', null, enabled
      ? 'The flag is served again as its rules and rollout say.'
      : 'Kill switch: the flag is off for everyone, whatever its rules say.')],
    run: (reason) => api('PATCH', path`/environments/${env}/flags/${flag.key}`, { body: { enabled }, reason }),
  });
  if (result) {
    remember(result);
    toast(`${flag.key} is ${enabled ? 'enabled' : 'disabled'} in ${env}.`);
  }
  return result;
}

/** Sets the flag-level percentage after the change dialog. */
export async function setRollout(env, flag, percentage, onFieldErrors) {
  const from = flag.percentage ?? 0;
  const result = await confirmChange({
    title: `Roll ${flag.key} out to ${pct(percentage)}?`,
    env,
    confirmLabel: `Roll out to ${pct(percentage)}`,
    summary: [h('p', { class: 'change' }, h('span', { class: 'before' }, pct(from)), ' → ', h('span', { class: 'after' }, pct(percentage)),
      ' of users who match no rule', percentage < from ? ' (users above the new percentage lose the feature)' : '')],
    run: (reason) => api('PATCH', path`/environments/${env}/flags/${flag.key}`, { body: { percentage }, reason }),
    onFieldErrors,
  });
  if (result) {
    remember(result);
    toast(`${flag.key} is at ${pct(percentage)} in ${env}.`);
  }
  return result;
}
