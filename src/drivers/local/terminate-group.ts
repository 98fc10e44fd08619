import { SlipwayError } from '../../core/errors.js';
import { processGroupAlive, signalGroup } from './proc.js';

/** How long to wait for a group to vanish after SIGKILL before reporting it stuck. */
const KILL_GRACE_MS = 5_000;
/** Polling step while waiting for a process group to exit. */
const POLL_MS = 20;

/**
 * Stops every process of group `pgid`: SIGTERM, then SIGKILL once `timeoutMs` has passed.
 * Resolves when no live process remains in the group. Waiting is in real time: it waits on the
 * OS, not on a policy a test would want to fast-forward.
 *
 * Once the group is empty its number could in principle be reused by a new group leader; the
 * kernel never reuses it while any member lives, and we stop signalling as soon as it is empty.
 */
export async function terminateGroup(pgid: number, timeoutMs: number): Promise<void> {
  if (!processGroupAlive(pgid)) return;
  signalGroup(pgid, 'SIGTERM');
  if (await waitUntil(() => !processGroupAlive(pgid), timeoutMs)) return;
  signalGroup(pgid, 'SIGKILL');
  if (await waitUntil(() => !processGroupAlive(pgid), KILL_GRACE_MS)) return;
  throw SlipwayError.of('DRIVER_STOP_STUCK', `process group ${pgid} survived SIGKILL for ${KILL_GRACE_MS}ms`, {
    hint: `A process in uninterruptible sleep (state D) dies only when its I/O returns; see \`ps -o pid,stat,cmd -g ${pgid}\`.`,
  });
}

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return true;
}
