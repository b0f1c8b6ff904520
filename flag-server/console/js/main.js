// The console's shell: sign-in, the header (environment switcher, navigation, live status,
// sign out) and the router. Routes live in the URL's fragment, so a page can be bookmarked
// and the server has one file to serve:
//   #/e/ENV               flags of ENV          #/e/ENV/f/KEY     one flag
//   #/e/ENV/new           create a flag         #/e/ENV/keys      SDK keys
//   #/e/ENV/audit         the environment's history

import { api, token, saveToken, clearToken, ApiError } from './api.js';
import { h, replace, field } from './dom.js';
import { state, subscribe, loadEnvironments, openEnvironment, close } from './state.js';
import { showErrors } from './forms.js';
import { flagList } from './views/list.js';
import { flagPage } from './views/flag.js';
import { newFlag } from './views/create.js';
import { sdkKeys } from './views/keys.js';
import { envHistory } from './views/history.js';

const main = document.getElementById('main');
const top = document.getElementById('top');
const LAST_ENV = 'flag-console.env';
let unmount = null;

function signIn(message) {
  close();
  replace(top, h('a', { class: 'brand', href: '#/' }, 'Feature flags'));
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'current-password', required: true, spellcheck: 'false' });
  const form = h('form', { class: ['card', 'signin', 'stack'] },
    h('h1', null, 'Sign in'),
    h('p', null, 'Use an admin token of this server (', h('code', null, 'FLAG_ADMIN_TOKEN'),
      '). It stays in this tab only and is sent to this server only.'),
    message && h('p', { class: 'warning', role: 'alert' }, message),
    field('Admin token', input, { field: 'token' }),
    h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const candidate = input.value.trim();
    try {
      await api('GET', '/environments', { tokenOverride: candidate });
      saveToken(candidate);
      route();
    } catch (err) {
      const text = err.status === 401 ? 'The server does not know this token.'
        : err.status === 403 ? 'This is an SDK key: the console needs an admin token.'
          : err.message;
      showErrors(form, new ApiError(err.status, { ...err.problem, errors: [{ field: 'token', message: text }] }));
    }
  });
  mount(form, 'Sign in');
  input.focus();
}

function signOut() {
  clearToken();
  close();
  window.location.hash = '#/';
  signIn('Signed out.');
}

function liveBadge() {
  const labels = { live: 'Live', connecting: 'Connecting…', offline: 'Reconnecting…' };
  return h('span', { class: ['live', state.live], title: 'Changes made elsewhere appear here as they happen' },
    labels[state.live] || state.live);
}

function header(env, active) {
  const select = h('select', { id: 'env-select', name: 'environment' },
    state.environments.map((e) => h('option', { value: e.name, selected: e.name === env }, e.name)));
  select.addEventListener('change', () => {
    window.location.hash = `#/e/${encodeURIComponent(select.value)}${active === 'flags' ? '' : `/${active}`}`;
  });
  const link = (name, href, label) => h('a', { href, 'aria-current': name === active ? 'page' : undefined }, label);
  const base = `#/e/${encodeURIComponent(env)}`;
  const live = h('span', { class: 'live-slot' }, liveBadge());
  replace(top,
    h('a', { class: 'brand', href: base }, 'Feature flags'),
    h('div', { class: 'env' }, h('label', { for: 'env-select' }, 'Environment'), select),
    h('nav', { 'aria-label': 'Sections' },
      link('flags', base, 'Flags'),
      link('keys', `${base}/keys`, 'SDK keys'),
      link('audit', `${base}/audit`, 'History')),
    live,
    h('button', { type: 'button', class: 'secondary', onclick: signOut }, 'Sign out'));
  return subscribe((c) => { if (c.type === 'status') replace(live, liveBadge()); });
}

function mount(node, title) {
  unmount?.();
  unmount = null;
  replace(main, node);
  document.title = title ? `${title} · Flags` : 'Flags';
}

async function route() {
  if (!token()) return signIn();
  const parts = window.location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  // On a first visit to an environment's page, its flags are asked for together with the list
  // of environments, not one round trip later.
  const early = parts[0] === 'e' && parts[1] && !state.environments.length
    ? openEnvironment(parts[1]).catch(() => {}) : null;
  try {
    if (!state.environments.length) await loadEnvironments();
    await early;
  } catch (err) {
    if (err.status === 401) return signIn('The token is no longer accepted. Sign in again.');
    return mount(h('p', { class: 'error', role: 'alert' }, err.message));
  }
  const names = state.environments.map((e) => e.name);
  if (parts[0] !== 'e' || !names.includes(parts[1])) {
    const last = localStorage.getItem(LAST_ENV);
    const env = names.includes(last) ? last : names.includes('production') ? 'production' : names[0];
    if (!env) return mount(h('p', null, 'This server has no environment. Create one with ', h('code', null, 'flag-cli env create NAME'), '.'));
    window.location.replace(`#/e/${encodeURIComponent(env)}`);
    return undefined;
  }
  const env = parts[1];
  localStorage.setItem(LAST_ENV, env);
  const [, , section, key] = parts;
  const active = section === 'keys' || section === 'audit' ? section : 'flags';
  const stopHeader = header(env, active);
  let view;
  try {
    await openEnvironment(env);
    if (section === 'f' && key) view = flagPage(env, key);
    else if (section === 'new') view = newFlag(env);
    else if (section === 'keys') view = sdkKeys(env);
    else if (section === 'audit') view = envHistory(env);
    else view = flagList(env);
  } catch (err) {
    if (err.status === 401) return signIn('The token is no longer accepted. Sign in again.');
    view = { node: h('p', { class: 'error', role: 'alert' }, err.message), title: 'Error' };
  }
  mount(view.node, view.title);
  unmount = () => { stopHeader(); view.unmount?.(); };
  if (view.focus) view.focus.focus();
  else main.focus({ preventScroll: true });
  return undefined;
}

window.addEventListener('hashchange', route);
window.addEventListener('flag-console:unauthorized', () => {
  clearToken();
  signIn('The token is no longer accepted. Sign in again.');
});
route();
