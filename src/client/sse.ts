/**
 * Reading the controller's event stream (server-sent events, docs/api.md "Event stream"): a
 * parser of the text/event-stream format, and `followEvents`, which reconnects with the id of
 * the last message so that nothing is lost across a dropped connection or a controller restart.
 */
import type { EventRecord } from '../store/types.js';
import type { AuditEntry } from '../store/access-types.js';
import { SlipwayError } from '../core/errors.js';
import type { ControllerClient } from './client.js';

/** One message of the stream: `event` and `audit` carry a record; `ready` opens it; `dropped` ends it. */
export type StreamMessage =
  | { id: string; type: 'event'; data: EventRecord }
  | { id: string; type: 'audit'; data: AuditEntry }
  | { id: string; type: 'ready'; data: { cursor: string } }
  | { id: string; type: 'dropped'; data: { reason: string; cursor: string; message: string } }
  | { id: string; type: 'error'; data: { code: string; message: string } };

/** Reads `text/event-stream` chunks and calls `onMessage` for each complete message (comments, such as heartbeats, skipped). */
export async function parseEventStream(chunks: AsyncIterable<string>, onMessage: (m: StreamMessage) => void): Promise<void> {
  let buf = '';
  let id = '';
  for await (const chunk of chunks) {
    buf += chunk;
    let end: number;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let type = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') id = value;
        else if (field === 'event') type = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length === 0) continue;
      onMessage({ id, type, data: JSON.parse(data.join('\n')) } as StreamMessage);
    }
  }
}

/**
 * Follows the stream until `signal` aborts or `onMessage` returns true, reconnecting after a
 * dropped connection (up to `retries` times in a row, a second apart) from the last id received.
 * Throws the first connection's error as is (no controller, no token, an older controller
 * without the stream), so that a caller can fall back to polling.
 */
export async function followEvents(
  client: ControllerClient,
  opts: { after?: string; service?: string; allEnvironments?: boolean; signal?: AbortSignal; retries?: number },
  onMessage: (m: StreamMessage) => boolean | void,
): Promise<void> {
  let after = opts.after;
  let failures = 0;
  let connected = false;
  let stop = false;
  const inner = new AbortController();
  const abort = () => inner.abort();
  opts.signal?.addEventListener('abort', abort, { once: true });
  try {
    while (!stop && !inner.signal.aborted) {
      try {
        await client.eventStream({ ...opts, after, signal: inner.signal }, (m) => {
          connected = true;
          failures = 0;
          if (m.id) after = m.id;
          if (m.type === 'error') throw SlipwayError.fromBody(m.data as never);
          if (onMessage(m) === true) {
            stop = true;
            inner.abort();
          }
        });
      } catch (err) {
        if (stop || inner.signal.aborted) return;
        if (!connected || ++failures > (opts.retries ?? 30)) throw err;
      }
      if (stop || inner.signal.aborted) return;
      // The server ended the stream (dropped us, or stopped): go on from the last id after a pause.
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        inner.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
    }
  } finally {
    opts.signal?.removeEventListener('abort', abort);
  }
}
