// The console's only way to the server: the public API under /api/v1, with the admin token
// the person typed, sent as `Authorization` and nowhere else (never in a URL, never logged).
// The token lives in sessionStorage: it ends with the tab, and signing out clears it.

const TOKEN_KEY = 'flag-console.token';

/** The admin token of this tab, or null. */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An answer that is not 2xx, with the server's problem+json (`title`, `detail`, `errors`). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }

  /** The per-field errors: `[{field, message}]`. */
  get fieldErrors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

/** `/environments/${env}/flags/${key}` with each part encoded. */
export function path(strings, ...parts) {
  return strings.reduce((out, s, i) => out + s + (i < parts.length ? encodeURIComponent(parts[i]) : ''), '');
}

/**
 * Calls the API. `body` is sent as JSON; `reason` as `X-Change-Reason`; `ifMatch` as
 * `If-Match`. Answers the parsed JSON (null for 204). Throws an ApiError for any other answer,
 * and on a 401 also tells the page (the `flag-console:unauthorized` event) so it asks for a
 * token again.
 */
export async function api(method, route, { body, reason, ifMatch, signal, tokenOverride } = {}) {
  const headers = { Accept: 'application/json' };
  const auth = tokenOverride ?? token();
  if (auth) headers.Authorization = `Bearer ${auth}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (reason) headers['X-Change-Reason'] = reason;
  if (ifMatch !== undefined) headers['If-Match'] = `"${ifMatch}"`;
  let response;
  try {
    response = await fetch(`/api/v1${route}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, { title: 'Server unreachable', detail: 'The server did not answer. Is it running?' });
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const problem = json && typeof json === 'object' ? json : { title: `HTTP ${response.status}`, detail: text };
    if (response.status === 401 && !tokenOverride) {
      window.dispatchEvent(new CustomEvent('flag-console:unauthorized'));
    }
    throw new ApiError(response.status, problem);
  }
  return json;
}

/** A change reason as the server accepts it: visible ASCII and spaces, at most 1024 bytes. */
export function reasonProblem(reason) {
  if (reason.length > 1024) return 'at most 1024 characters';
  if (/[^\x20-\x7e]/.test(reason)) return 'only visible ASCII characters and spaces (no accents, no new lines)';
  return null;
}
