// Building the page: a small `h()` over the DOM, and the formatting every view shares.
// No templates and no innerHTML: text from the server (flag keys, reasons, descriptions) only
// ever becomes text nodes, so it cannot become markup.

/**
 * Creates an element. `props`: `class`, `on<event>` handlers, `dataset`, boolean and string
 * attributes (`hidden`, `disabled`, `aria-*`...), and the `value` / `checked` properties.
 * Children: nodes, strings, numbers, arrays, or null/false (skipped).
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (name === 'value' || name === 'checked' || name === 'indeterminate') {
      el[name] = value;
    } else if (name === 'class') {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let ids = 0;
/** A unique element id, to tie a label or a message to its control. */
export function uid(prefix = 'f') {
  ids += 1;
  return `${prefix}-${ids}`;
}

/**
 * A labelled control: `<div class="field"><label>…</label>control<p class="error"></p></div>`.
 * `field` is the API field path (`rules[0].percentage`) the server names in its errors, so an
 * error can be shown beside the control that caused it (see `forms.js`).
 */
export function field(label, control, { field: path, hint, inline } = {}) {
  if (!control.id) control.id = uid();
  const error = h('p', { class: 'error', id: `${control.id}-error`, hidden: true });
  const describedBy = [error.id];
  let hintEl = null;
  if (hint) {
    hintEl = h('p', { class: 'hint', id: `${control.id}-hint` }, hint);
    describedBy.push(hintEl.id);
  }
  control.setAttribute('aria-describedby', describedBy.join(' '));
  return h('div', { class: ['field', inline && 'inline'], dataset: path ? { field: path } : undefined },
    h('label', { for: control.id }, label), control, hintEl, error);
}

const units = [
  ['year', 365 * 24 * 3600], ['month', 30 * 24 * 3600], ['day', 24 * 3600],
  ['hour', 3600], ['minute', 60], ['second', 1],
];
const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** "3 minutes ago", "in 2 days"; `title` holds the exact time. */
export function when(iso) {
  if (!iso) return h('span', { class: 'muted' }, 'never');
  const t = new Date(iso);
  const seconds = (t.getTime() - Date.now()) / 1000;
  let text = 'just now';
  for (const [unit, size] of units) {
    // 3599 s ahead reads "in 1 hour", not "in 60 minutes".
    if (Math.abs(seconds) >= size * 0.99) {
      text = relative.format(Math.round(seconds / size), unit);
      break;
    }
  }
  return h('time', { datetime: t.toISOString(), title: t.toLocaleString() }, text);
}

/** A percentage as people write it: `5%`, `0.25%`. */
export function pct(p) {
  return `${Number(p).toLocaleString('en', { maximumFractionDigits: 2 })}%`;
}

/** A JSON value on one line, for diffs and summaries. */
export function brief(value) {
  if (value === undefined) return '—';
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}
