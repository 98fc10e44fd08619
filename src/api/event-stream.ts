/**
 * `GET /v1/events` as server-sent events (docs/api.md, "Event stream"): every event of the
 * store's event log (rollout phases and steps, traffic, instances, analysis verdicts, flag
 * changes) and every audit entry, as they are recorded, for the environments the token may see.
 *
 * Each client reads the store itself from its own cursor, a page at a time, and reads the next
 * page only once the socket took the last one: a slow client never makes the controller buffer
 * more than one page, and a reconnect with `Last-Event-ID` continues from exactly where it was
 * (the cursor is the id of the last event and of the last audit entry sent, `EVENT.AUDIT`). A
 * client that stops reading for DRAIN_TIMEOUT_MS is told so (`event: dropped`) and cut off.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SlipwayError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import type { EventRecord } from '../store/types.js';
import type { AuditEntry } from '../store/access-types.js';

/** Where a stream is: the last event id and the last audit entry id sent. */
export interface StreamCursor {
  event: number;
  audit: number;
}

export interface StreamFilter {
  /** Only this environment's events (and its audit entries); undefined: every environment `allowed` admits. */
  environment?: string;
  service?: string;
  /** The environments the token may see; null: all. */
  allowed: readonly string[] | null;
}

export interface StreamTiming {
  /** How often the store is read for new entries while the stream is idle. */
  pollMs: number;
  /** A comment line this often keeps proxies and idle timers from closing a quiet stream. */
  heartbeatMs: number;
  /** How long a client may leave a full socket buffer unread before it is dropped. */
  drainTimeoutMs: number;
}

export const DEFAULT_TIMING: StreamTiming = { pollMs: 250, heartbeatMs: 15_000, drainTimeoutMs: 10_000 };
const PAGE = 200;

/** `Last-Event-ID` (or `?after=`) as a cursor: `EVENT.AUDIT`, or a bare event id (audit from now on is not implied: 0). */
export function parseCursor(text: string | undefined | null): StreamCursor | undefined {
  if (text === undefined || text === null || text === '') return undefined;
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m)
    throw SlipwayError.of('EVENT_CURSOR_INVALID', `"${text}" is not an event stream position`, {
      hint: 'Send back the id of the last event received (Last-Event-ID: 42.7), or leave it out to start from now.',
    });
  return { event: Number(m[1]), audit: Number(m[2] ?? 0) };
}

export function formatCursor(c: StreamCursor): string {
  return `${c.event}.${c.audit}`;
}

/** The stream's head now: a client without a cursor starts here (what happens from now on). */
export async function headCursor(store: Store): Promise<StreamCursor> {
  return store.lastIds();
}

function visible(env: string | null, f: StreamFilter): boolean {
  if (f.environment !== undefined) return env === f.environment || env === null;
  return env === null || f.allowed === null || f.allowed.includes(env);
}

/** One message of the stream, as written: `event` (an EventRecord) or `audit` (an AuditEntry). */
type Item = { kind: 'event'; at: number; id: number; body: EventRecord } | { kind: 'audit'; at: number; id: number; body: AuditEntry };

/** The next entries after `cursor` that `f` admits, oldest first; the cursor advances past filtered ones too. */
export async function nextPage(store: Store, cursor: StreamCursor, f: StreamFilter): Promise<{ items: Item[]; cursor: StreamCursor }> {
  const [events, audits] = await Promise.all([
    store.listEvents({ afterId: cursor.event, environment: f.environment, service: f.service, limit: PAGE }),
    store.listAudit({ afterId: cursor.audit, service: f.service, limit: PAGE }),
  ]);
  // Both logs are read a page at a time; entries beyond the end of the shorter page wait for the
  // next read, so the merged order stays by time across pages.
  const eventsEnd = events.length === PAGE ? events.at(-1)!.at : Infinity;
  const auditsEnd = audits.length === PAGE ? audits.at(-1)!.at : Infinity;
  const until = Math.min(eventsEnd, auditsEnd);
  const next = { ...cursor };
  const items: Item[] = [];
  for (const e of events) {
    if (e.at > until) break;
    next.event = e.id;
    if (visible(e.environment, f)) items.push({ kind: 'event', at: e.at, id: e.id, body: e });
  }
  for (const a of audits) {
    if (a.at > until) break;
    next.audit = a.id;
    if (visible(a.environment, f)) items.push({ kind: 'audit', at: a.at, id: a.id, body: a });
  }
  items.sort((x, y) => x.at - y.at || (x.kind === y.kind ? x.id - y.id : x.kind === 'event' ? -1 : 1));
  return { items, cursor: next };
}

/**
 * Serves the stream on `res` until the client goes away, the server closes, or the client falls
 * behind. `start`: where to continue from (undefined: from now on).
 */
export async function serveEventStream(
  store: Store,
  req: IncomingMessage,
  res: ServerResponse,
  f: StreamFilter,
  start: StreamCursor | undefined,
  timing: StreamTiming = DEFAULT_TIMING,
): Promise<void> {
  let cursor = start ?? (await headCursor(store));
  let closed = false;
  let wake: (() => void) | undefined;
  const onClose = () => {
    closed = true;
    wake?.();
  };
  req.once('close', onClose);
  res.once('close', onClose);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  // The first message says where the stream starts, so that a client can resume even before any event.
  res.write(`retry: 2000\nid: ${formatCursor(cursor)}\nevent: ready\ndata: ${JSON.stringify({ cursor: formatCursor(cursor) })}\n\n`);
  let lastWrite = Date.now();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        wake = undefined;
        resolve();
      }
      wake = done;
    });
  /** Resolves true once the socket took what was written, false if it did not within the deadline. */
  const drained = () =>
    new Promise<boolean>((resolve) => {
      const t = setTimeout(() => finish(false), timing.drainTimeoutMs);
      const onDrain = () => finish(true);
      const onGone = () => finish(true);
      function finish(ok: boolean) {
        clearTimeout(t);
        res.off('drain', onDrain);
        res.off('close', onGone);
        resolve(ok);
      }
      res.on('drain', onDrain);
      res.once('close', onGone);
    });
  try {
    while (!closed) {
      const page = await nextPage(store, cursor, f);
      let full = false;
      for (const item of page.items) {
        const id = item.kind === 'event' ? { ...cursor, event: item.id } : { ...cursor, audit: item.id };
        cursor = id;
        full = !res.write(`id: ${formatCursor(cursor)}\nevent: ${item.kind}\ndata: ${JSON.stringify(item.body)}\n\n`) || full;
        lastWrite = Date.now();
      }
      const moved = page.cursor.event !== cursor.event || page.cursor.audit !== cursor.audit;
      cursor = page.cursor;
      if (closed) break;
      if (full && !(await drained())) {
        // The client reads slower than events happen: stop rather than queue without end. It
        // resumes from `cursor` (the last one it was sent) when it reconnects.
        res.end(
          `event: dropped\ndata: ${JSON.stringify({ reason: 'slow-client', cursor: formatCursor(cursor), message: `the client did not read for ${timing.drainTimeoutMs} ms; reconnect with Last-Event-ID to continue` })}\n\n`,
        );
        setTimeout(() => res.destroy(), 1000).unref();
        return;
      }
      if (page.items.length > 0 || moved) continue; // more may be waiting: read on at once
      if (Date.now() - lastWrite >= timing.heartbeatMs) {
        res.write(`: heartbeat ${new Date().toISOString()}\n\n`);
        lastWrite = Date.now();
      }
      await sleep(Math.min(timing.pollMs, timing.heartbeatMs));
    }
  } catch (err) {
    if (!closed) res.end(`event: error\ndata: ${JSON.stringify(SlipwayError.from(err).toBody())}\n\n`);
    return;
  } finally {
    req.off('close', onClose);
    res.off('close', onClose);
  }
  res.end();
}
