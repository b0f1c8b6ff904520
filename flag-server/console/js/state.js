// What the console knows of the environment on screen: its flags (with their usage, from the
// admin list), its segments, its version, kept current by the admin stream. Views read it and
// subscribe to its changes; a change made anywhere (curl, the CLI, another browser) reaches
// every open view through `changed`.

import { api, path } from './api.js';
import { follow } from './live.js';

export const state = {
  /** The environment on screen. */
  env: null,
  /** Every environment: `[{name, version, flags}]`. */
  environments: [],
  /** key → flag, as the server answers it (with `usage` when the list gave it). */
  flags: new Map(),
  /** key → segment. */
  segments: new Map(),
  /** The environment's version as last seen. */
  version: 0,
  /** The stream: `connecting`, `live` or `offline`. */
  live: 'connecting',
};

const listeners = new Set();
let stream = null;

/** Calls `fn(change)` on every change; returns the function that stops it. */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function changed(change) {
  for (const fn of [...listeners]) fn(change);
}

export async function loadEnvironments() {
  const list = await api('GET', '/environments');
  state.environments = list.environments;
  return state.environments;
}

/** Reads `env`'s flags and segments, and follows its stream (stopping any other). */
export async function openEnvironment(env) {
  if (state.env === env && stream) return;
  stream?.stop();
  stream = null;
  state.env = env;
  state.flags = new Map();
  state.segments = new Map();
  const [flags, segments] = await Promise.all([
    api('GET', path`/environments/${env}/flags`),
    api('GET', path`/environments/${env}/segments`),
  ]);
  if (state.env !== env) return;
  state.version = flags.version;
  state.flags = new Map(flags.flags.map((f) => [f.key, f]));
  state.readAt = Date.now();
  state.segments = new Map(segments.segments.map((s) => [s.key, s]));
  changed({ type: 'all' });
  stream = follow(env, {
    snapshot(snap) {
      const usage = new Map([...state.flags].map(([k, f]) => [k, f.usage]));
      state.flags = new Map(snap.flags.map((f) => [f.key, { ...f, usage: usage.get(f.key) }]));
      state.segments = new Map((snap.segments || []).map((s) => [s.key, s]));
      state.version = snap.version;
      changed({ type: 'all' });
    },
    put(flag, id) {
      const old = state.flags.get(flag.key);
      state.flags.set(flag.key, { ...flag, usage: old?.usage });
      state.version = id ?? state.version;
      changed({ type: 'flag', key: flag.key, flag, before: old });
    },
    delete(key, id) {
      state.flags.delete(key);
      state.version = id ?? state.version;
      changed({ type: 'flag', key, flag: null });
    },
    segment_put(segment, id) {
      state.segments.set(segment.key, segment);
      state.version = id ?? state.version;
      changed({ type: 'segment', key: segment.key });
    },
    segment_delete(key, id) {
      state.segments.delete(key);
      state.version = id ?? state.version;
      changed({ type: 'segment', key });
    },
    status(s) {
      state.live = s;
      changed({ type: 'status' });
    },
  });
}

/**
 * Reads the usage of every flag again (SDKs report it about once a minute; the stream does not
 * carry it) and takes any flag newer than the one held.
 */
export async function refreshUsage() {
  const env = state.env;
  if (Date.now() - (state.readAt || 0) < 5000) return; // just read with the environment
  state.readAt = Date.now();
  const list = await api('GET', path`/environments/${env}/flags`);
  if (state.env !== env) return;
  for (const flag of list.flags) {
    const held = state.flags.get(flag.key);
    if (!held || held.version <= flag.version) state.flags.set(flag.key, flag);
    else held.usage = flag.usage;
  }
  changed({ type: 'all' });
}

/** Records a flag the API answered (after a write), before its stream event arrives. */
export function remember(flag) {
  const old = state.flags.get(flag.key);
  if (old && old.version >= flag.version) return;
  state.flags.set(flag.key, { ...flag, usage: flag.usage ?? old?.usage });
  changed({ type: 'flag', key: flag.key, flag, before: old });
}

export function forget(key) {
  if (state.flags.delete(key)) changed({ type: 'flag', key, flag: null });
}

/** Stops following (sign out). */
export function close() {
  stream?.stop();
  stream = null;
  state.env = null;
  state.flags = new Map();
}

/** Whether a flag is stale: past `expires_at`, or not evaluated (nor changed) for 30 days. */
export function staleness(flag, now = Date.now()) {
  if (flag.expires_at && Date.parse(flag.expires_at) < now) return 'expired';
  const last = flag.usage?.last_evaluated || flag.updated_at;
  if (last && now - Date.parse(last) > 30 * 24 * 3600 * 1000) return 'unused';
  return null;
}
