/**
 * Live data: the ONE module through which pages get data that changes. A page watches an API path
 * and is called back with each new answer; nothing else in the page polls. Each watched path is
 * read again on a timer (its period; one request per path however many parts watch it) while the
 * tab is visible, AND at once whenever the controller's event stream (`/v1/events`) reports a
 * change (an event or an audit entry), so a rollout step, a flag change or an action taken
 * elsewhere shows within a moment. A path whose every change is such an event (`evented`: the
 * audit log, flags, history) is polled only every EVENTED_PERIOD_MS while the stream is open; the
 * timer stays for what changes without an event (instance health, traffic).
 */
import { useEffect, useState } from 'react';
import { api, ApiError } from './api.js';
import { currentToken } from './session.js';

export type Listener<T> = (data: T | undefined, error: ApiError | undefined) => void;

export interface WatchOptions {
  /** How often to read the path again. @default 1000 */
  periodMs?: number;
  /** Every change of this path is an event on /v1/events: poll it slowly while the stream is open. */
  evented?: boolean;
}

export interface DataSource {
  /** Calls `listener` with the answer to GET `path` now and each time it may have changed; returns the way to stop. */
  watch<T>(path: string, listener: Listener<T>, opts?: WatchOptions): () => void;
  /** Read every watched path again now (after an action changed something). */
  refresh(): void;
}

/** The timer of an evented path while the event stream is open (a safety net, not the way it updates). */
const EVENTED_PERIOD_MS = 30_000;
/** Events arrive in bursts (a rollout step writes several): paths are read again once per burst. */
const COALESCE_MS = 100;
/** Reconnecting the stream after it ended or failed (as its `retry:` says). */
const RECONNECT_MS = 2000;

interface Watch {
  periodMs: number;
  evented: boolean;
}

interface Watched {
  listeners: Map<Listener<unknown>, Watch>;
  timer: ReturnType<typeof setTimeout> | undefined;
  inFlight: boolean;
  /** A read was asked for while one was in flight: read again when it ends. */
  again: boolean;
  last?: { data: unknown; error: ApiError | undefined };
}

/**
 * Follows `/v1/events` with the session's token (fetch, not EventSource, which cannot send an
 * Authorization header), resuming with Last-Event-ID after a drop. Calls `changed` for each event
 * or audit entry and `opened(true|false)` as the stream opens and ends. A 401 stops it until the
 * next `ensure()` (after a new sign-in).
 */
function eventFeed(changed: () => void, opened: (open: boolean) => void) {
  let running = false;
  let abort: AbortController | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let lastId: string | undefined;
  let wanted = () => true;

  const handle = (message: string) => {
    let event = 'message';
    for (const line of message.split('\n')) {
      if (line.startsWith('id:')) lastId = line.slice(3).trim();
      else if (line.startsWith('event:')) event = line.slice(6).trim();
    }
    if (event === 'event' || event === 'audit') changed();
  };

  const connect = async () => {
    retry = undefined;
    const token = currentToken();
    if (!wanted() || token === null) {
      running = false;
      return;
    }
    abort = new AbortController();
    let unauthorized = false;
    try {
      const res = await fetch('/v1/events', {
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) },
        signal: abort.signal,
        cache: 'no-store',
      });
      unauthorized = res.status === 401 || res.status === 403;
      if (res.ok && res.body) {
        opened(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value.replace(/\r\n?/g, '\n');
          for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
            handle(buf.slice(0, i));
            buf = buf.slice(i + 2);
          }
        }
      }
    } catch {
      /* the controller went away or we stopped: reconnect below, unless stopped */
    }
    opened(false);
    if (unauthorized || !wanted()) running = false;
    else retry = setTimeout(() => void connect(), RECONNECT_MS);
  };

  return {
    /** Opens the stream unless it is open (or being opened); `isWanted` says whether to keep it. */
    ensure(isWanted: () => boolean) {
      wanted = isWanted;
      if (running) return;
      running = true;
      void connect();
    },
    stop() {
      clearTimeout(retry);
      abort?.abort();
      running = false;
    },
  };
}

function liveSource(): DataSource {
  const watched = new Map<string, Watched>();
  let streamOpen = false;
  let burst: ReturnType<typeof setTimeout> | undefined;
  const visible = () => document.visibilityState === 'visible';

  const read = async (path: string) => {
    const w = watched.get(path);
    if (!w) return;
    if (w.inFlight) {
      w.again = true;
      return;
    }
    clearTimeout(w.timer);
    w.inFlight = true;
    try {
      w.last = { data: await api<unknown>('GET', path), error: undefined };
    } catch (err) {
      w.last = { data: w.last?.data, error: err instanceof ApiError ? err : new ApiError(0, 'INTERNAL', String(err)) };
    }
    w.inFlight = false;
    if (watched.get(path) !== w) return;
    for (const l of w.listeners.keys()) l(w.last.data, w.last.error);
    if (w.again) {
      w.again = false;
      void read(path);
    } else schedule(path, w);
  };

  const schedule = (path: string, w: Watched) => {
    clearTimeout(w.timer);
    // A hidden tab does not poll; it reads everything again when shown (below).
    if (!visible() || w.listeners.size === 0) return;
    const period = Math.min(
      ...[...w.listeners.values()].map((o) => (o.evented && streamOpen ? Math.max(o.periodMs, EVENTED_PERIOD_MS) : o.periodMs)),
    );
    w.timer = setTimeout(() => void read(path), period);
  };

  const readAll = () => {
    for (const path of watched.keys()) void read(path);
  };

  const feed = eventFeed(
    () => {
      if (burst === undefined)
        burst = setTimeout(() => {
          burst = undefined;
          readAll();
        }, COALESCE_MS);
    },
    (open) => {
      if (open === streamOpen) return;
      streamOpen = open;
      // Anything missed while the stream was down is read now; the timers follow the new periods.
      if (open) readAll();
      else for (const [path, w] of watched) schedule(path, w);
    },
  );
  const keepFeed = () => watched.size > 0 && visible();

  document.addEventListener('visibilitychange', () => {
    if (visible()) {
      feed.ensure(keepFeed);
      readAll();
    } else feed.stop();
  });

  return {
    watch<T>(path: string, listener: Listener<T>, opts: WatchOptions = {}) {
      const l = listener as Listener<unknown>;
      const o: Watch = { periodMs: opts.periodMs ?? 1000, evented: opts.evented ?? false };
      let w = watched.get(path);
      if (!w) {
        w = { listeners: new Map([[l, o]]), timer: undefined, inFlight: false, again: false };
        watched.set(path, w);
        void read(path);
      } else {
        w.listeners.set(l, o);
        if (w.last) l(w.last.data, w.last.error);
        if (!w.inFlight) schedule(path, w);
      }
      if (visible()) feed.ensure(keepFeed);
      const entry = w;
      return () => {
        entry.listeners.delete(l);
        if (entry.listeners.size === 0) {
          clearTimeout(entry.timer);
          watched.delete(path);
          if (watched.size === 0) feed.stop();
        }
      };
    },
    refresh: readAll,
  };
}

export const live: DataSource = liveSource();

/** The latest answer to GET `path` (null: nothing to watch), kept up to date. */
export function useLive<T>(path: string | null, opts: WatchOptions = {}): { data: T | undefined; error: ApiError | undefined } {
  const { periodMs, evented } = opts;
  const [state, setState] = useState<{ path: string | null; data: T | undefined; error: ApiError | undefined }>({
    path,
    data: undefined,
    error: undefined,
  });
  useEffect(() => {
    if (path === null) return;
    return live.watch<T>(path, (data, error) => setState({ path, data, error }), { periodMs, evented });
  }, [path, periodMs, evented]);
  // An answer for the previous path is not shown for the new one.
  return state.path === path ? state : { data: undefined, error: undefined };
}
