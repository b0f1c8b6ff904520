// The targeting editor: variants (typed flags), rules with their conditions and what each
// serves, the default, and the off variant. It edits a draft of the flag and answers the
// whole definition for a PUT; every control sits in a `data-field` box named by its path in
// that body, so the server's 400 shows beside the control it names.

import { h, replace, field } from '../dom.js';
import { state } from '../state.js';
import { flagType } from './summary.js';

export const OPERATORS = [
  ['in', 'is one of'], ['not_in', 'is not one of'], ['starts_with', 'starts with'],
  ['ends_with', 'ends with'], ['contains', 'contains'], ['matches', 'matches regex'],
  ['eq', '= (number)'], ['lt', '< (number)'], ['lte', '≤ (number)'], ['gt', '> (number)'], ['gte', '≥ (number)'],
  ['semver_eq', '= (version)'], ['semver_lt', '< (version)'], ['semver_lte', '≤ (version)'],
  ['semver_gt', '> (version)'], ['semver_gte', '≥ (version)'],
  ['before', 'before (time)'], ['after', 'after (time)'],
  ['in_segment', 'in segment'], ['not_in_segment', 'not in segment'],
];
const TEXT_OPERATORS = new Set(['in', 'not_in', 'starts_with', 'ends_with', 'contains']);

const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

/** The variant keys a flag can serve: its variants, or `on`/`off` for a boolean flag. */
function variantKeys(draft) {
  return flagType(draft) === 'boolean' ? ['on', 'off'] : (draft.variants || []).map((v) => v.key).filter(Boolean);
}

function numberInput(value, props = {}) {
  return h('input', { type: 'number', inputmode: 'decimal', value: value ?? '', ...props });
}

/** Reads a number input: a number, or the text itself so the server names the mistake. */
function readNumber(input) {
  const text = input.value.trim();
  if (text === '') return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : text;
}

/**
 * The editor of `flag`'s targeting. `onChange()` is called on every edit. Returns
 * `{node, value()}`: `value()` is the flag definition to PUT.
 */
export function rulesEditor(flag, onChange) {
  const draft = clone(flag);
  for (const k of ['version', 'updated_at', 'updated_by', 'usage']) delete draft[k];
  draft.rules = draft.rules || [];
  const type = flagType(draft);
  const root = h('div', { class: 'stack' });
  const edited = () => onChange?.();

  function serveEditor(serve, pathPrefix, set, { allowPercentage, percentage, setPercentage } = {}) {
    const kinds = [];
    if (allowPercentage) kinds.push(['percentage', 'percentage of users']);
    kinds.push(['variant', 'one variant'], ['split', 'a split between variants']);
    const mode = serve?.split ? 'split' : serve?.variant !== undefined ? 'variant' : allowPercentage ? 'percentage' : 'variant';
    const kind = h('select', { name: `${pathPrefix}-kind` }, kinds.map(([v, l]) => h('option', { value: v, selected: v === mode }, l)));
    const box = h('div', { class: 'serve' });
    const keys = variantKeys(draft);
    function render(m) {
      if (m === 'percentage') {
        const p = numberInput(percentage ?? 0, { min: 0, max: 100, step: 'any', class: 'narrow' });
        p.addEventListener('input', () => { setPercentage(readNumber(p)); edited(); });
        replace(box, field('Percentage of users', p, { field: pathPrefix.endsWith('default_serve') ? 'percentage' : `${pathPrefix.replace(/\.serve$/, '')}.percentage`, hint: '0 to 100, at most two decimals' }));
      } else if (m === 'variant') {
        const current = serve?.variant ?? keys[0] ?? '';
        const sel = h('select', null, keys.map((k) => h('option', { value: k, selected: k === current }, k)));
        sel.addEventListener('change', () => { set({ variant: sel.value }); edited(); });
        set({ variant: current });
        replace(box, field('Variant', sel, { field: `${pathPrefix}.variant` }));
      } else {
        const split = serve?.split || keys.map((k, i) => ({ variant: k, weight: i === 0 ? 10000 : 0 }));
        const rows = split.map((s, i) => {
          const w = numberInput(s.weight / 100, { min: 0, max: 100, step: 'any', class: 'narrow' });
          w.addEventListener('input', () => {
            const n = readNumber(w);
            split[i].weight = typeof n === 'number' ? Math.round(n * 100) : n;
            set({ split });
            edited();
          });
          return field(`${s.variant} %`, w, { field: `${pathPrefix}.split[${i}].weight`, inline: true });
        });
        set({ split });
        replace(box, h('div', { class: 'split', dataset: { field: `${pathPrefix}.split` } }, rows,
          h('p', { class: 'hint' }, 'Percentages of users, summing to 100.'), h('p', { class: 'error', hidden: true })));
      }
    }
    kind.addEventListener('change', () => {
      if (kind.value === 'percentage') { set(undefined); setPercentage(percentage ?? 0); serve = undefined; } else { setPercentage?.(undefined); serve = undefined; }
      render(kind.value);
      edited();
    });
    render(mode);
    return h('div', { class: 'serve-editor' }, field('Serve', kind), box);
  }

  function conditionRow(rule, ri, c, ci) {
    const p = `rules[${ri}].conditions[${ci}]`;
    const attribute = h('input', { type: 'text', value: c.attribute || '', autocomplete: 'off', spellcheck: 'false', placeholder: 'country' });
    attribute.addEventListener('input', () => { c.attribute = attribute.value; edited(); });
    const operator = h('select', null, OPERATORS.map(([v, l]) => h('option', { value: v, selected: v === c.operator }, l)));
    const values = h('textarea', { rows: 2, spellcheck: 'false', placeholder: 'one value per line' });
    values.value = (c.values || []).join('\n');
    values.addEventListener('input', () => {
      c.values = values.value.split('\n').map((v) => v.trim()).filter((v) => v !== '');
      edited();
    });
    const segHint = h('p', { class: 'hint' });
    const showSegHint = () => {
      segHint.textContent = c.operator.endsWith('segment')
        ? `Segment keys${state.segments.size ? `: ${[...state.segments.keys()].join(', ')}` : ' (this environment has none yet)'}`
        : '';
      segHint.hidden = !segHint.textContent;
    };
    const negate = h('input', { type: 'checkbox', checked: !!c.negate });
    negate.addEventListener('change', () => { if (negate.checked) c.negate = true; else delete c.negate; edited(); });
    const ci_ = h('input', { type: 'checkbox', checked: !!c.case_insensitive });
    ci_.addEventListener('change', () => { if (ci_.checked) c.case_insensitive = true; else delete c.case_insensitive; edited(); });
    const ciField = field('Ignore case', ci_, { field: `${p}.case_insensitive`, inline: true });
    const syncCase = () => {
      ciField.hidden = !TEXT_OPERATORS.has(c.operator);
      if (ciField.hidden && c.case_insensitive) { delete c.case_insensitive; ci_.checked = false; }
    };
    operator.addEventListener('change', () => { c.operator = operator.value; syncCase(); showSegHint(); edited(); });
    syncCase();
    showSegHint();
    const remove = h('button', {
      type: 'button', class: ['secondary', 'small'], 'aria-label': `Remove condition ${ci + 1} of rule ${rule.id || ri + 1}`,
      onclick() { rule.conditions.splice(ci, 1); render(); edited(); },
    }, 'Remove');
    return h('div', { class: 'condition', dataset: { field: p }, role: 'group', 'aria-label': `Condition ${ci + 1}` },
      field('Attribute', attribute, { field: `${p}.attribute` }),
      field('Operator', operator, { field: `${p}.operator` }),
      h('div', { class: 'values' }, field('Values', values, { field: `${p}.values` }), segHint),
      h('div', { class: 'condition-flags' }, field('Negate', negate, { field: `${p}.negate`, inline: true }), ciField, remove),
      h('p', { class: 'error', hidden: true }));
  }

  function ruleBox(rule, ri) {
    const p = `rules[${ri}]`;
    rule.conditions = rule.conditions || [];
    const id = h('input', { type: 'text', value: rule.id || '', autocomplete: 'off', spellcheck: 'false', class: 'narrow' });
    id.addEventListener('input', () => { rule.id = id.value; edited(); });
    const move = (delta, label) => h('button', {
      type: 'button', class: ['secondary', 'small'], disabled: ri + delta < 0 || ri + delta >= draft.rules.length,
      'aria-label': `${label} rule ${rule.id || ri + 1}`,
      onclick() {
        const [r] = draft.rules.splice(ri, 1);
        draft.rules.splice(ri + delta, 0, r);
        render();
        edited();
      },
    }, label);
    const boolean = type === 'boolean';
    const serve = serveEditor(rule.serve, `${p}.serve`, (s) => { if (s) { rule.serve = s; delete rule.percentage; } else delete rule.serve; },
      boolean ? { allowPercentage: true, percentage: rule.serve ? undefined : rule.percentage ?? 100, setPercentage: (v) => { if (v === undefined) delete rule.percentage; else { rule.percentage = v; delete rule.serve; } } } : {});
    return h('fieldset', { class: 'rule', dataset: { field: p } },
      h('legend', null, `Rule ${ri + 1}`),
      h('div', { class: 'rule-head' },
        field('Rule id', id, { field: `${p}.id` }),
        h('div', { class: 'buttons' }, move(-1, 'Move up'), move(1, 'Move down'),
          h('button', {
            type: 'button', class: ['secondary', 'small'], 'aria-label': `Remove rule ${rule.id || ri + 1}`,
            onclick() { draft.rules.splice(ri, 1); render(); edited(); },
          }, 'Remove rule'))),
      h('p', { class: 'muted small' }, rule.conditions.length ? 'Matches when all of these hold:' : 'Matches every context.'),
      h('div', { class: 'conditions', dataset: { field: `${p}.conditions` } },
        rule.conditions.map((c, ci) => conditionRow(rule, ri, c, ci)), h('p', { class: 'error', hidden: true })),
      h('button', {
        type: 'button', class: ['secondary', 'small'],
        onclick() { rule.conditions.push({ attribute: '', operator: 'in', values: [] }); render(); edited(); root.querySelector(`[data-field="${p}.conditions[${rule.conditions.length - 1}].attribute"] input`)?.focus(); },
      }, 'Add condition'),
      serve,
      h('p', { class: 'error', hidden: true }));
  }

  function variantsBox() {
    draft.variants = draft.variants || [];
    const rows = draft.variants.map((v, i) => {
      const key = h('input', { type: 'text', value: v.key, autocomplete: 'off', spellcheck: 'false', class: 'narrow' });
      key.addEventListener('input', () => { v.key = key.value; edited(); });
      let value;
      if (type === 'json') {
        value = h('textarea', { rows: 2, spellcheck: 'false' });
        value.value = JSON.stringify(v.value);
        value.addEventListener('input', () => { try { v.value = JSON.parse(value.value); } catch { v.value = value.value; } edited(); });
      } else if (type === 'number') {
        value = numberInput(v.value, { step: 'any' });
        value.addEventListener('input', () => { v.value = readNumber(value); edited(); });
      } else {
        value = h('input', { type: 'text', value: v.value ?? '', autocomplete: 'off' });
        value.addEventListener('input', () => { v.value = value.value; edited(); });
      }
      return h('div', { class: 'variant', dataset: { field: `variants[${i}]` } },
        field('Key', key, { field: `variants[${i}].key` }),
        field(type === 'json' ? 'Value (JSON)' : 'Value', value, { field: `variants[${i}].value` }),
        h('button', {
          type: 'button', class: ['secondary', 'small'], 'aria-label': `Remove variant ${v.key}`,
          onclick() { draft.variants.splice(i, 1); render(); edited(); },
        }, 'Remove'),
        h('p', { class: 'error', hidden: true }));
    });
    return h('fieldset', { class: 'variants', dataset: { field: 'variants' } },
      h('legend', null, 'Variants'), rows,
      h('button', {
        type: 'button', class: ['secondary', 'small'],
        onclick() { draft.variants.push({ key: '', value: type === 'number' ? 0 : type === 'json' ? {} : '' }); render(); edited(); },
      }, 'Add variant'),
      h('p', { class: 'error', hidden: true }));
  }

  function defaultBox() {
    const boolean = type === 'boolean';
    const keys = variantKeys(draft);
    const off = boolean ? null : h('select', null, h('option', { value: '' }, '(none: the caller\'s default)'),
      keys.map((k) => h('option', { value: k, selected: k === draft.off_variant }, k)));
    off?.addEventListener('change', () => { if (off.value) draft.off_variant = off.value; else delete draft.off_variant; edited(); });
    return h('fieldset', { class: 'default', dataset: { field: 'default_serve' } },
      h('legend', null, 'When no rule matches'),
      serveEditor(draft.default_serve, 'default_serve', (s) => { if (s) { draft.default_serve = s; delete draft.percentage; } else delete draft.default_serve; },
        boolean ? { allowPercentage: true, percentage: draft.default_serve ? undefined : draft.percentage ?? 0, setPercentage: (v) => { if (v === undefined) delete draft.percentage; else { draft.percentage = v; delete draft.default_serve; } } } : {}),
      off && field('When disabled, serve', off, { field: 'off_variant' }),
      h('p', { class: 'error', hidden: true }));
  }

  function render() {
    replace(root,
      type !== 'boolean' && variantsBox(),
      h('div', { class: 'rules', dataset: { field: 'rules' } },
        h('h3', null, 'Rules'),
        h('p', { class: 'muted small' }, 'Tried in order; the first rule whose conditions all match decides.'),
        draft.rules.map((r, i) => ruleBox(r, i)),
        h('p', { class: 'error', hidden: true }),
        h('button', {
          type: 'button', class: 'secondary',
          onclick() {
            const n = draft.rules.length + 1;
            draft.rules.push(type === 'boolean'
              ? { id: `rule-${n}`, conditions: [{ attribute: '', operator: 'in', values: [] }], percentage: 100 }
              : { id: `rule-${n}`, conditions: [{ attribute: '', operator: 'in', values: [] }], serve: { variant: variantKeys(draft)[0] ?? '' } });
            render();
            edited();
            root.querySelector(`[data-field="rules[${n - 1}].conditions[0].attribute"] input`)?.focus();
          },
        }, 'Add rule')),
      defaultBox());
  }
  render();
  return { node: root, value: () => clone(draft) };
}
