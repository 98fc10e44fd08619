/**
 * Live data: the ONE module through which pages get data that changes. A page watches an API path
 * and is called back with each new answer; nothing else in the page polls. Today it polls each
 * watched path (every second by default) while the tab is visible, one request per path however
 * many parts watch it; switching to the controller's event stream (`/v1/events`) changes only
 * this file: re-read a path when an event about it arrives instead of on a timer.
 */
import { useEffect, useState } from 'react';
import { api, ApiError } from './api.js';

export type Listener<T> = (data: T | undefined, error: ApiError | undefined) => void;

export interface DataSource {
  /** Calls `listener` with the answer to GET `path` now and each time it may have changed; returns the way to stop. */
  watch<T>(path: string, listener: Listener<T>, periodMs?: number): () => void;
  /** Read every watched path again now (after an action changed something). */
  refresh(): void;
}

interface Watched {
  listeners: Set<Listener<unknown>>;
  periods: number[];
  timer: ReturnType<typeof setTimeout> | undefined;
  inFlight: boolean;
  last?: { data: unknown; error: ApiError | undefined };
}

function pollingSource(): DataSource {
  const watched = new Map<string, Watched>();

  const poll = async (path: string) => {
    const w = watched.get(path);
    if (!w || w.inFlight) return;
    clearTimeout(w.timer);
    w.inFlight = true;
    try {
      w.last = { data: await api<unknown>('GET', path), error: undefined };
    } catch (err) {
      w.last = { data: w.last?.data, error: err instanceof ApiError ? err : new ApiError(0, 'INTERNAL', String(err)) };
    }
    w.inFlight = false;
    if (watched.get(path) !== w) return;
    for (const l of w.listeners) l(w.last.data, w.last.error);
    schedule(path, w);
  };

  const schedule = (path: string, w: Watched) => {
    clearTimeout(w.timer);
    // A hidden tab does not poll; it reads everything again when shown (below).
    if (document.visibilityState === 'visible') w.timer = setTimeout(() => void poll(path), Math.min(...w.periods));
  };

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') for (const path of watched.keys()) void poll(path);
  });

  return {
    watch<T>(path: string, listener: Listener<T>, periodMs = 1000) {
      let w = watched.get(path);
      const l = listener as Listener<unknown>;
      if (!w) {
        w = { listeners: new Set(), periods: [], timer: undefined, inFlight: false };
        watched.set(path, w);
        w.listeners.add(l);
        w.periods.push(periodMs);
        void poll(path);
      } else {
        w.listeners.add(l);
        w.periods.push(periodMs);
        if (w.last) l(w.last.data, w.last.error);
      }
      const entry = w;
      return () => {
        entry.listeners.delete(l);
        entry.periods.splice(entry.periods.indexOf(periodMs), 1);
        if (entry.listeners.size === 0) {
          clearTimeout(entry.timer);
          watched.delete(path);
        }
      };
    },
    refresh() {
      for (const path of watched.keys()) void poll(path);
    },
  };
}

export const live: DataSource = pollingSource();

/** The latest answer to GET `path` (null: nothing to watch), kept up to date. */
export function useLive<T>(path: string | null, periodMs = 1000): { data: T | undefined; error: ApiError | undefined } {
  const [state, setState] = useState<{ path: string | null; data: T | undefined; error: ApiError | undefined }>({
    path,
    data: undefined,
    error: undefined,
  });
  useEffect(() => {
    if (path === null) return;
    return live.watch<T>(path, (data, error) => setState({ path, data, error }), periodMs);
  }, [path, periodMs]);
  // An answer for the previous path is not shown for the new one.
  return state.path === path ? state : { data: undefined, error: undefined };
}
