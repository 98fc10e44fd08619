/**
 * Streams a service's instance logs: the last lines first, then (when following) new lines as
 * they are written, across log rotation (a file that shrank was truncated: start again from 0)
 * and across instances that start later (a rollout's new instances are picked up).
 */
import { open, stat } from 'node:fs/promises';
import type { Controller } from './controller.js';

export interface LogLine { instance: string; release: number; stream: 'stdout' | 'stderr'; line: string }

export async function streamLogs(c: Controller, service: string, opts: { lines: number; follow: boolean; signal: AbortSignal }, emit: (l: LogLine) => void): Promise<void> {
  const offsets = new Map<string, number>();
  const partial = new Map<string, string>();
  const instances = () => c.driver.list().filter((i) => i.service === service);

  for (const i of instances()) {
    for (const line of await c.driver.logTail(i.id, opts.lines).catch(() => [] as string[])) emit({ instance: i.id, release: i.release, stream: 'stdout', line });
    const files = c.driver.logFiles(i.id);
    if (files) for (const [stream, path] of Object.entries(files)) offsets.set(`${i.id}\0${stream}\0${path}`, await size(path));
  }
  while (opts.follow && !opts.signal.aborted) {
    for (const i of instances()) {
      const files = c.driver.logFiles(i.id);
      if (!files) continue;
      for (const [stream, path] of Object.entries(files) as ['stdout' | 'stderr', string][]) {
        const key = `${i.id}\0${stream}\0${path}`;
        const end = await size(path);
        let from = offsets.get(key) ?? 0;
        if (end < from) from = 0; // rotated (copy-truncate)
        if (end === from) { offsets.set(key, end); continue; }
        const text = (partial.get(key) ?? '') + (await readRange(path, from, end));
        offsets.set(key, end);
        const parts = text.split('\n');
        partial.set(key, parts.pop() ?? '');
        for (const line of parts) emit({ instance: i.id, release: i.release, stream, line });
      }
    }
    await c.clock.sleep(250, opts.signal).catch(() => undefined);
  }
}

async function size(path: string): Promise<number> {
  try { return (await stat(path)).size; } catch { return 0; }
}

async function readRange(path: string, from: number, to: number): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const len = Math.min(to - from, 1 << 20);
    const buf = Buffer.alloc(len);
    const { bytesRead } = await fh.read(buf, 0, len, from);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}
