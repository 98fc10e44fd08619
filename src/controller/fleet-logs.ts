/**
 * `slipway logs` of a service on a fleet (docs/servers.md, ADR 0026 "Logs from hosts"): every
 * host's instance lines, read by each host's agent (`serviceLogs`) over the pooled SSH connection,
 * merged in capture order and tagged with their host; with `follow`, new lines as they are written,
 * on every host and across rollouts.
 *
 * Following is a poll with a cursor per instance (the capture time of the last line taken, and a
 * file position hint), kept here, not in the agent: a host whose link is cut, or whose agent is
 * restarted or upgraded, is read again from its cursors once it answers, so no line is lost or sent
 * twice. A host that cannot be read is named once (a LogHostNotice) and the others' lines go on;
 * a slow host never holds the others back (each host has one request in flight, and a round
 * waits for it a short while only).
 */
import type { LogHostNotice, LogLine } from '../api/types.js';
import { SlipwayError } from '../core/errors.js';
import type { LogRecord } from '../drivers/driver.js';
import { formatLogTime, mergeByTime } from '../drivers/local/log-line.js';
import { LOG_PAGE_LINES } from '../fleet/agent/agent-logs.js';
import { withinDeadline } from '../fleet/host-answers.js';
import type { LogCursor, ServiceLogsAnswer, ServiceLogsRequest } from '../fleet/agent/protocol.js';
import type { FleetMember, FleetRuntime } from '../fleet/fleet-runtime.js';
import type { Controller } from './controller.js';
import { unitName } from './environment-scope.js';
import type { LogStreamOptions } from './log-stream.js';

/** How long a host's first answer may take (a cut link fails sooner: SSH keepalives, the connect timeout). */
const HOST_DEADLINE_MS = 15_000;
/** How long a follow round waits for a slow host before the others' lines are sent. */
const ROUND_WAIT_MS = 1000;
/** How often hosts are asked for new lines while following. */
const FLEET_POLL_MS = 500;
/** Rounds a retired instance's cursor is kept with nothing new (its last lines come within a few). */
const RETIRED_ROUNDS = 20;

interface Tagged extends LogRecord {
  host: string;
  instance: string;
  release: number;
}

interface HostReader {
  m: FleetMember;
  cursors: Map<string, { cursor: LogCursor; release: number; quiet: number }>;
  /** Its tail was read (later reads go on from its cursors). */
  started: boolean;
  /** Its lines are missing now (a notice was sent). */
  missing: boolean;
}

export async function streamFleetLogs(
  c: Controller,
  rt: FleetRuntime,
  service: string,
  opts: LogStreamOptions,
  emitLine: (l: LogLine | LogHostNotice) => void,
): Promise<void> {
  // A request still in flight when the reader left must not write to its closed response.
  const emit = (l: LogLine | LogHostNotice) => {
    if (!opts.signal.aborted) emitLine(l);
  };
  const unit = unitName(c.environment, service);
  const readers: HostReader[] = rt.members.map((m) => ({ m, cursors: new Map(), started: false, missing: false }));
  const send = (t: Tagged) =>
    emit({
      instance: t.instance,
      release: t.release,
      stream: t.stream,
      at: t.at === null ? null : formatLogTime(t.at),
      line: t.text,
      host: t.host,
    });
  const mark = (h: HostReader, err: unknown) => {
    if (err === null) {
      if (h.missing) emit({ host: h.m.name, problem: null });
      h.missing = false;
      return;
    }
    if (h.missing) return;
    h.missing = true;
    const e = SlipwayError.from(err);
    emit({ host: h.m.name, problem: { code: e.code, message: e.message.split('\n')[0]! } });
  };
  const ask = (h: HostReader, req: ServiceLogsRequest) =>
    withinDeadline(h.m.agent.call({ op: 'serviceLogs', ...req }, HOST_DEADLINE_MS), h.m.name, HOST_DEADLINE_MS);
  const since = opts.sinceMs !== undefined ? { sinceMs: opts.sinceMs } : {};

  /** Takes an answer's lines and moves the host's cursors; a retired instance is let go once quiet. */
  const absorb = (h: HostReader, a: ServiceLogsAnswer): { lines: Tagged[][]; more: boolean } => {
    const lines: Tagged[][] = [];
    let more = false;
    for (const i of a.instances) {
      const had = h.cursors.get(i.id);
      const release = i.release ?? had?.release ?? 0;
      const quiet = i.listed || i.records.length > 0 ? 0 : (had?.quiet ?? 0) + 1;
      if (quiet > RETIRED_ROUNDS) h.cursors.delete(i.id);
      else h.cursors.set(i.id, { cursor: i.cursor, release, quiet });
      lines.push(i.records.map((r) => ({ ...r, host: h.m.name, instance: i.id, release })));
      more ||= i.more;
    }
    return { lines, more };
  };

  /**
   * A host's newest lines: one answer when a page holds them, else read forward page by page from
   * `since` (or the start), keeping each instance's newest `lines` (as the local read does).
   */
  const tailOf = async (h: HostReader): Promise<Tagged[]> => {
    if (opts.lines <= LOG_PAGE_LINES) {
      const got = mergeByTime(absorb(h, await ask(h, { service: unit, lines: opts.lines, ...since })).lines);
      h.started = true;
      return got;
    }
    const kept = new Map<string, Tagged[]>();
    for (let more = true; more && !opts.signal.aborted;) {
      const page = absorb(h, await ask(h, { service: unit, lines: LOG_PAGE_LINES, ...since, after: cursorsOf(h) }));
      for (const lines of page.lines) {
        if (!lines.length) continue;
        const mine = kept.get(lines[0]!.instance) ?? [];
        mine.push(...lines);
        // Trimmed now and then, not each page: the memory stays within twice what is printed.
        if (mine.length > 2 * opts.lines) mine.splice(0, mine.length - opts.lines);
        kept.set(lines[0]!.instance, mine);
      }
      more = page.more;
    }
    h.started = true;
    return mergeByTime([...kept.values()]).slice(-opts.lines);
  };

  const tails = await Promise.all(
    readers.map(async (h) => {
      try {
        const lines = await tailOf(h);
        mark(h, null);
        return lines;
      } catch (err) {
        mark(h, err);
        return [];
      }
    }),
  );
  if (opts.lines > 0) for (const t of mergeByTime(tails).slice(-opts.lines)) send(t);
  if (!opts.follow) return;

  // Following: one request in flight per host; a round sends what came, merged in time order.
  const ready: Tagged[][] = [];
  const inflight = new Map<HostReader, Promise<void>>();
  let again = false;
  const poll = async (h: HostReader) => {
    try {
      if (!h.started) {
        // Not read yet (it was unreachable): its tail first, as it would have come at the start.
        ready.push(await tailOf(h));
      } else {
        const page = absorb(h, await ask(h, { service: unit, lines: LOG_PAGE_LINES, ...since, after: cursorsOf(h) }));
        ready.push(mergeByTime(page.lines));
        again ||= page.more;
      }
      mark(h, null);
    } catch (err) {
      mark(h, err);
    }
  };
  while (!opts.signal.aborted) {
    again = false;
    for (const h of readers)
      if (!inflight.has(h)) {
        const p = poll(h).finally(() => inflight.delete(h));
        inflight.set(h, p);
      }
    await Promise.race([Promise.all(inflight.values()), c.clock.sleep(ROUND_WAIT_MS, opts.signal).catch(() => undefined)]);
    if (opts.signal.aborted) break;
    for (const t of mergeByTime(ready.splice(0))) send(t);
    if (!again) await c.clock.sleep(opts.pollMs ?? FLEET_POLL_MS, opts.signal).catch(() => undefined);
  }
}

function cursorsOf(h: HostReader): Record<string, LogCursor> {
  return Object.fromEntries([...h.cursors].map(([id, v]) => [id, v.cursor]));
}
