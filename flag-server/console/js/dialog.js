// Every write goes through one dialog: it says what will change and where, asks for an
// optional reason (sent as `X-Change-Reason`, kept in the audit log), and runs the change.
// In `production` it says so in words and colour, which makes it the explicit confirm step
// before a rollout there. A deletion also asks for the key to be typed.

import { h, field, uid } from './dom.js';
import { reasonProblem } from './api.js';

/** Whether an environment is production (by name), where changes get the warning. */
export function isProduction(env) {
  return /^prod(uction)?$/.test(env);
}

function modal(...children) {
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': uid('dlg') }, ...children);
  dialog.querySelector('h2')?.setAttribute('id', dialog.getAttribute('aria-labelledby'));
  document.body.append(dialog);
  dialog.addEventListener('close', () => dialog.remove());
  return dialog;
}

/**
 * Asks for a change and makes it. `run(reason)` does the API call; while it runs the buttons
 * are disabled; when it throws, the message shows in the dialog (or, for field errors of a
 * form, `onFieldErrors(err)` gets them and the dialog closes). Resolves to run's result, or
 * null when the person cancels.
 */
export function confirmChange({
  title, summary = [], env, confirmLabel = 'Save', dismissLabel = 'Cancel', danger = false, typeToConfirm, run, onFieldErrors,
  reasonLabel = 'Reason (optional, kept in the audit log)',
}) {
  return new Promise((resolve) => {
    const prod = isProduction(env);
    const reason = h('input', { type: 'text', name: 'reason', autocomplete: 'off', maxlength: 1024, placeholder: 'e.g. INC-142: checkout errors' });
    const typed = typeToConfirm ? h('input', { type: 'text', name: 'confirm', autocomplete: 'off', spellcheck: 'false' }) : null;
    const error = h('p', { class: ['error', 'form-error'], role: 'alert', hidden: true });
    const cancel = h('button', { type: 'button', class: 'secondary' }, dismissLabel);
    const confirm = h('button', { type: 'submit', class: danger || prod ? 'danger' : 'primary' },
      prod ? `${confirmLabel} in ${env}` : confirmLabel);
    const form = h('form', { method: 'dialog', class: 'stack' },
      h('h2', null, title),
      prod && h('p', { class: 'warning' }, h('strong', null, `This changes ${env}.`), ' Applications using it see the change within a second.'),
      h('div', { class: 'summary' }, summary),
      typed && field(`Type ${typeToConfirm} to confirm`, typed),
      field(reasonLabel, reason, { field: 'reason' }),
      error,
      h('div', { class: 'buttons' }, cancel, confirm));
    const dialog = modal(form);
    let settled = false;
    const finish = (value) => {
      if (!settled) { settled = true; resolve(value); }
      if (dialog.open) dialog.close();
    };
    if (typed) {
      confirm.disabled = true;
      typed.addEventListener('input', () => { confirm.disabled = typed.value !== typeToConfirm; });
    }
    cancel.addEventListener('click', () => finish(null));
    dialog.addEventListener('cancel', () => finish(null));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const text = reason.value.trim();
      const bad = text && reasonProblem(text);
      if (bad) {
        error.textContent = `Reason: ${bad}`;
        error.hidden = false;
        reason.setAttribute('aria-invalid', 'true');
        reason.focus();
        return;
      }
      confirm.disabled = true;
      cancel.disabled = true;
      error.hidden = true;
      try {
        finish(await run(text || undefined));
      } catch (err) {
        confirm.disabled = false;
        cancel.disabled = false;
        if (onFieldErrors && err.fieldErrors?.length) {
          finish(null);
          onFieldErrors(err);
          return;
        }
        error.textContent = err.problem?.title ? `${err.problem.title}: ${err.message}` : err.message;
        error.hidden = false;
      }
    });
    dialog.showModal();
    (typed || reason).focus();
  });
}

/** Shows a secret once, with a button that copies it. */
export function showSecret({ title, secret, note }) {
  const input = h('input', { type: 'text', readonly: true, value: secret, class: 'secret', spellcheck: 'false' });
  const status = h('span', { class: 'hint', role: 'status' });
  const copy = h('button', {
    type: 'button',
    class: 'primary',
    async onclick() {
      try {
        await navigator.clipboard.writeText(secret);
        status.textContent = 'Copied.';
      } catch {
        input.select();
        status.textContent = 'Selected: press Ctrl+C to copy.';
      }
    },
  }, 'Copy');
  const close = h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close() }, 'Done');
  const dialog = modal(h('div', { class: 'stack' },
    h('h2', null, title),
    h('p', null, note),
    field('Secret', input),
    h('div', { class: 'buttons' }, status, copy, close)));
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve());
    dialog.showModal();
    input.select();
  });
}

/** A short message in the corner, read out by screen readers. */
export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  const item = h('p', { class: ['toast', kind] }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000);
}
