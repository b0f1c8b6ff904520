// The server's errors, shown where they belong. A 400 problem names fields by their path in
// the request body (`key`, `rules[1].conditions[0].values`); every control that edits a part
// of the body sits in an element with `data-field` set to that path, so the message appears
// beside it. A path with no control of its own is shown at its nearest enclosing part
// (`rules[1]`), and anything else in the form's own message area.

import { h } from './dom.js';

/** Hides every message of `form`. */
export function clearErrors(form) {
  for (const el of form.querySelectorAll('.error')) {
    el.hidden = true;
    el.textContent = '';
  }
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

function parent(fieldPath) {
  const m = fieldPath.match(/^(.*)(\.[^.[\]]+|\[\d+\])$/);
  return m ? m[1] : null;
}

function container(form, fieldPath) {
  for (let p = fieldPath; p; p = parent(p)) {
    const el = form.querySelector(`[data-field="${CSS.escape(p)}"]`);
    if (el) return el;
  }
  return null;
}

function messageArea(form) {
  let area = form.querySelector(':scope > .form-error');
  if (!area) {
    area = h('p', { class: ['error', 'form-error'], role: 'alert', hidden: true });
    form.prepend(area);
  }
  return area;
}

/**
 * Shows `err` (an ApiError or any Error) in `form`: each field error beside its control, the
 * rest on top. Focuses the first control in error.
 */
export function showErrors(form, err) {
  clearErrors(form);
  const general = [];
  let first = null;
  const fields = err.fieldErrors || [];
  for (const { field, message } of fields) {
    const box = field ? container(form, field) : null;
    if (!box) {
      general.push(field ? `${field}: ${message}` : message);
      continue;
    }
    const msg = box.querySelector(':scope > .error') || box.appendChild(h('p', { class: 'error' }));
    const own = field === box.dataset.field ? message : `${field}: ${message}`;
    msg.textContent = msg.textContent ? `${msg.textContent} ${own}` : own;
    msg.hidden = false;
    msg.setAttribute('role', 'alert');
    const control = box.querySelector('input, select, textarea');
    if (control) {
      control.setAttribute('aria-invalid', 'true');
      first = first || control;
    }
  }
  if (!fields.length || general.length) {
    const area = messageArea(form);
    const title = err.problem?.title && err.problem.title !== err.message ? `${err.problem.title}: ` : '';
    area.textContent = general.length && fields.length ? general.join(' ') : `${title}${err.message}`;
    area.hidden = false;
  }
  first?.focus();
}
