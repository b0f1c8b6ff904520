// Live updates: the admin stream of an environment (`GET /environments/{env}/stream`, SSE).
// A browser's EventSource cannot send an Authorization header, and the token must never go
// in a URL, so the stream is read with fetch() and parsed here. On a cut the stream is opened
// again with `Last-Event-ID`, after a short, growing, jittered pause: the server then sends
// exactly the changes missed, or a fresh snapshot when they are too old.

import { token, path } from './api.js';

/**
 * Follows `env` until `stop()`. `handlers`: `snapshot(data)`, `put(flag, id)`, `delete(key, id)`,
 * `segment_put(segment, id)`, `segment_delete(key, id)`, `status('connecting'|'live'|'offline')`.
 */
export function follow(env, handlers) {
  const controller = new AbortController();
  let lastId = null;
  let failures = 0;

  const emit = (event, data, id) => {
    const handler = handlers[event];
    if (!handler) return;
    const parsed = JSON.parse(data);
    switch (event) {
      case 'snapshot': handler(parsed, id); break;
      case 'put': handler(parsed.flag, id); break;
      case 'delete': handler(parsed.key, id); break;
      case 'segment_put': handler(parsed.segment, id); break;
      case 'segment_delete': handler(parsed.key, id); break;
      default: break;
    }
  };

  async function once() {
    const headers = { Accept: 'text/event-stream', Authorization: `Bearer ${token()}` };
    if (lastId !== null) headers['Last-Event-ID'] = lastId;
    const response = await fetch(`/api/v1${path`/environments/${env}/stream`}`, {
      headers, signal: controller.signal, cache: 'no-store', credentials: 'omit',
    });
    if (response.status === 401) {
      window.dispatchEvent(new CustomEvent('flag-console:unauthorized'));
      throw new Error('unauthorized');
    }
    if (!response.ok) throw new Error(`stream answered ${response.status}`);
    handlers.status?.('live');
    failures = 0;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let event = 'message';
    let data = [];
    let id = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        if (line === '') {
          if (data.length) {
            if (id !== null) lastId = id;
            emit(event, data.join('\n'), id === null ? null : Number(id));
          }
          event = 'message';
          data = [];
          id = null;
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':');
          const name = colon < 0 ? line : line.slice(0, colon);
          let val = colon < 0 ? '' : line.slice(colon + 1);
          if (val.startsWith(' ')) val = val.slice(1);
          if (name === 'event') event = val;
          else if (name === 'data') data.push(val);
          else if (name === 'id') id = val;
        }
      }
    }
  }

  (async () => {
    while (!controller.signal.aborted) {
      handlers.status?.('connecting');
      try {
        await once();
      } catch (e) {
        if (controller.signal.aborted || e.message === 'unauthorized') return;
      }
      if (controller.signal.aborted) return;
      failures += 1;
      handlers.status?.('offline');
      const pause = Math.min(5000, 250 * 2 ** Math.min(failures, 5)) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  })();

  return { stop: () => controller.abort() };
}
