import { isSameProcessAlive } from '../local/proc.js';
import type { Run } from './instance-runtime.js';

/**
 * Watches a main process that is not our child (no exit event): checks `pid` every `everyMs`
 * (a /proc read) and reports the run's exit, code unknown, once it is gone.
 */
export function watchPid(pid: number, startTime: number, run: Run, everyMs: number): void {
  if (!isSameProcessAlive(pid, startTime)) {
    run.exited({ code: null, signal: null });
    return;
  }
  const poll = setInterval(() => {
    if (isSameProcessAlive(pid, startTime)) return;
    clearInterval(poll);
    run.exited({ code: null, signal: null });
  }, everyMs);
  poll.unref();
  run.onUnwatch(() => clearInterval(poll));
}
