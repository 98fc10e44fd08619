/** Test helper: polls a condition until it holds or a deadline passes (never sleep-and-hope). */
export async function waitFor<T>(what: string, cond: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await cond();
      if (v !== undefined && v !== false) return v;
    } catch (err) { last = err; }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}

/** Whether a process exists and is not a zombie (a zombie still answers kill(pid, 0)). */
export function processAlive(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return false; }
  try {
    const stat = readFileSyncSafe(`/proc/${pid}/stat`);
    if (stat === undefined) return false;
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch { return true; }
}

import { readFileSync } from 'node:fs';
function readFileSyncSafe(p: string): string | undefined {
  try { return readFileSync(p, 'utf8'); } catch { return undefined; }
}
