/**
 * The agent's `serviceLogs` (protocol.ts): a service's instance logs on this host, for `slipway
 * logs` on a fleet (controller/fleet-logs.ts). The agent keeps nothing per reader: the reader sends
 * its cursors and gets them back moved, so a reader carries on across an agent restart or a lost
 * link with no line missed or repeated (the files on the host are the truth; ADR 0026, Logs).
 */
import { existsSync } from 'node:fs';
import { posix } from 'node:path';
import type { LogRecord, RuntimeDriver } from '../../drivers/driver.js';
import { readStreamAfter, tailStream, type StreamPage } from '../../drivers/local/log-after.js';
import { logPaths, type LogPaths } from '../../drivers/local/log-files.js';
import { mergeByTime } from '../../drivers/local/log-line.js';
import type { LogCursor, ServiceLogsAnswer, ServiceLogsRequest } from './protocol.js';

/** Lines per instance in one answer at most: bounds the agent's memory and the answer's size (about 0.5 MB of 100-byte lines). */
export const LOG_PAGE_LINES = 5000;

export async function serviceLogs(driver: RuntimeDriver, driverDir: string, req: ServiceLogsRequest): Promise<ServiceLogsAnswer> {
  const lines = Math.max(0, Math.min(req.lines, LOG_PAGE_LINES));
  const listed = new Map(
    driver
      .list()
      .filter((i) => i.service === req.service)
      .map((i) => [i.id, i.release] as const),
  );
  const ids = new Set([...listed.keys(), ...Object.keys(req.after ?? {})]);
  const instances = await Promise.all(
    [...ids].map(async (id) => {
      const files = driver.logFiles(id) ?? retiredFiles(driverDir, id);
      const base = { id, release: listed.get(id) ?? null, listed: listed.has(id) };
      const cursor = req.after?.[id] ?? { at: req.sinceMs ?? 0 };
      if (!files) return { ...base, records: [], cursor, more: false };
      if (!req.after) return { ...base, ...(await tail(files, lines, req.sinceMs)) };
      return { ...base, ...(await after(files, cursor, lines)) };
    }),
  );
  return { instances };
}

/** The newest lines over both streams, and a cursor just after the newest line of each (also with `lines` 0: a reader then follows from now). */
async function tail(
  files: LogPaths,
  lines: number,
  sinceMs: number | undefined,
): Promise<{ records: LogRecord[]; cursor: LogCursor; more: boolean }> {
  const [out, err] = await Promise.all([
    tailStream(files.stdout, 'stdout', lines, sinceMs),
    tailStream(files.stderr, 'stderr', lines, sinceMs),
  ]);
  const records = lines === 0 ? [] : mergeByTime([out.records, err.records]).slice(-lines);
  const newest = [...out.records, ...err.records].reduce((m, r) => (r.at !== null && r.at > m ? r.at : m), sinceMs ?? 0);
  const cursor: LogCursor = { at: newest };
  if (out.end) cursor.out = out.end;
  if (err.end) cursor.err = err.end;
  return { records, cursor, more: false };
}

/** The oldest lines after the cursor, both streams in time order, at most `lines`; the cursor moved past them. */
async function after(
  files: LogPaths,
  cursor: LogCursor,
  lines: number,
): Promise<{ records: LogRecord[]; cursor: LogCursor; more: boolean }> {
  const [out, err] = await Promise.all([
    readStreamAfter(files.stdout, 'stdout', cursor.at, lines, cursor.out),
    readStreamAfter(files.stderr, 'stderr', cursor.at, lines, cursor.err),
  ]);
  const taken = mergeByTime([out.records, err.records]).slice(0, lines);
  const count = (s: LogRecord['stream']) => taken.filter((r) => r.stream === s).length;
  // Each stream's next read starts after its last line taken; a stream taken whole starts where its read stopped.
  const next = (page: StreamPage, n: number, old: LogCursor['out']) =>
    n === page.records.length ? (page.end ?? old) : n > 0 ? page.records[n - 1]!.end : old;
  const nOut = count('stdout');
  const nErr = count('stderr');
  const at = taken.reduce((m, r) => Math.max(m, r.at ?? m), cursor.at);
  const moved: LogCursor = { at };
  const o = next(out, nOut, cursor.out);
  const e = next(err, nErr, cursor.err);
  if (o) moved.out = o;
  if (e) moved.err = e;
  return {
    records: taken.map(({ at: t, stream, text }) => ({ at: t, stream, text })),
    cursor: moved,
    more: out.more || err.more || nOut + nErr < out.records.length + err.records.length,
  };
}

/**
 * The log files of an instance this agent no longer runs (retired by a rollout while a reader
 * followed it): processes' logs, else containers' (agent-runtimes.ts), by the LocalDriver's names.
 * An id that is not a plain file name is nobody's.
 */
function retiredFiles(driverDir: string, id: string): LogPaths | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) return undefined;
  for (const dir of [posix.join(driverDir, 'logs'), posix.join(driverDir, 'containers', 'logs')]) {
    const files = logPaths(dir, id);
    if (existsSync(files.stdout) || existsSync(files.stderr)) return files;
  }
  return undefined;
}
