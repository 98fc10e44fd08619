/**
 * What the controller last heard from each host, for `slipway status` (docs/servers.md). A host
 * whose link is cut would make a plain call wait for the SSH connect timeout or the keepalive
 * bound; status must not. Each host's answer gets a short deadline; a host that misses it is
 * reported unreachable with the error, since when, and what it served when last reached.
 */
import { SlipwayError } from '../core/errors.js';

/** How long status waits for one host's answer (they are asked in parallel). */
export const STATUS_HOST_DEADLINE_MS = 2000;
const ABANDON_AFTER_MS = 60_000;

interface Seen<T> {
  reachable: boolean;
  /** When `reachable` last changed (or was first seen). */
  since: number;
  /** The last answer, and when it came. */
  last?: { value: T; at: number };
}

export class HostAnswers<T> {
  private readonly seen = new Map<string, Seen<T>>();
  private readonly inflight = new Map<string, { answer: Promise<T>; startedAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Asks `ask()` within `deadlineMs`: resolves with the answer, or with the error (SSH_UNREACHABLE
   * when the deadline passed; the call goes on in the background and is ignored).
   */
  async ask(
    host: string,
    ask: () => Promise<T>,
    deadlineMs = STATUS_HOST_DEADLINE_MS,
  ): Promise<{ ok: true; value: T; since: number } | { ok: false; error: SlipwayError; since: number; last?: { value: T; at: number } }> {
    // One question per host at a time: a status of several services asks each host once, and a
    // host still hanging on an earlier question costs no second deadline.
    let pending = this.inflight.get(host);
    // A question that never settled (it should: SSH keepalives end a dead connection) is not waited on forever.
    if (pending && Date.now() - pending.startedAt > ABANDON_AFTER_MS) pending = undefined;
    if (!pending) {
      const p = ask().finally(() => {
        if (this.inflight.get(host)?.answer === p) this.inflight.delete(host);
      });
      this.inflight.set(host, (pending = { answer: p, startedAt: Date.now() }));
    }
    const left = Math.max(0, pending.startedAt + deadlineMs - Date.now());
    try {
      const value = await withinDeadline(pending.answer, host, deadlineMs, left);
      const s = this.mark(host, true);
      s.last = { value, at: this.now() };
      return { ok: true, value, since: s.since };
    } catch (err) {
      const s = this.mark(host, false);
      return { ok: false, error: SlipwayError.from(err), since: s.since, ...(s.last ? { last: s.last } : {}) };
    }
  }

  private mark(host: string, reachable: boolean): Seen<T> {
    let s = this.seen.get(host);
    if (!s) this.seen.set(host, (s = { reachable, since: this.now() }));
    else if (s.reachable !== reachable) Object.assign(s, { reachable, since: this.now() });
    return s;
  }
}

/**
 * A host's answer, or SSH_UNREACHABLE once `waitMs` passed (the call goes on and is ignored).
 * `deadlineMs` is the deadline the error names (a question asked earlier has less of it left).
 */
export function withinDeadline<T>(answer: Promise<T>, host: string, deadlineMs: number, waitMs = deadlineMs): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          SlipwayError.of('SSH_UNREACHABLE', `${host} did not answer within ${deadlineMs}ms`, {
            hint: 'Its link may be cut or the host down; slipway hosts check tells which.',
            details: { host },
          }),
        ),
      waitMs,
    );
  });
  answer.catch(() => undefined); // a late failure after the deadline is nobody's
  return Promise.race([answer, late]).finally(() => clearTimeout(timer));
}
