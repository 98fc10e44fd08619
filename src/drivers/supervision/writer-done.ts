import type { ChildProcess } from 'node:child_process';
import type { InstanceRecord } from '../local/instance-store.js';
import { isSameProcessAlive } from '../local/proc.js';

/** How long an exit or a stop waits for the instance's log writer to write the last lines. */
const WRITER_FLUSH_MS = 2000;

/**
 * Waits (at most WRITER_FLUSH_MS) for the log writer `w` of an instance's last run to write what it
 * read and exit, which it does once every process of the run has closed its output. `child` is the
 * writer's ChildProcess while it is ours (an exit event); an adopted one is polled through /proc.
 */
export async function writerDone(w: InstanceRecord['logWriter'], child: ChildProcess | undefined): Promise<void> {
  if (!w) return;
  if (child && child.pid === w.pid) {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, WRITER_FLUSH_MS);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  } else {
    const deadline = Date.now() + WRITER_FLUSH_MS;
    while (isSameProcessAlive(w.pid, w.procStartTime) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }
}
