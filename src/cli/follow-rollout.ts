/** Follows a rollout to its end, showing instances ready and traffic per release; returns the exit code. */
import type { ControllerClient } from '../client/client.js';
import { followEvents } from '../client/sse.js';
import { coalescingRefresh } from './coalescing-refresh.js';
import type { RolloutResponse } from '../api/types.js';
import type { Output } from './output.js';
import { outcomeLines, progressLine } from './render/rollout.js';

/** While following the stream, the rollout is read again at least this often (a change no event announces). */
const SAFETY_REFRESH_MS = 5_000;

/**
 * `success` is the phase the caller asked for: `Healthy` for a deploy, `RolledBack` when the
 * caller undid a rollout in progress (slipway rollback during a rollout). The rollout is read
 * again at each of its events on the controller's event stream; when the stream is not there
 * (an older controller) or breaks, or `pollMs` is given, it is polled instead.
 */
export async function followRollout(
  client: ControllerClient,
  id: number,
  out: Output,
  opts: { json: boolean; success?: 'Healthy' | 'RolledBack'; pollMs?: number },
): Promise<{ code: number; last: RolloutResponse }> {
  const success = opts.success ?? 'Healthy';
  const show = (r: RolloutResponse) => {
    if (!opts.json) out.progress(progressLine(r, out, { live: out.live }));
  };
  let last: RolloutResponse | undefined;
  if (opts.pollMs === undefined) last = await viaStream(client, id, show).catch(() => undefined);
  while (!last || last.rollout.finishedAt === null) {
    if (last) await new Promise((res) => setTimeout(res, opts.pollMs ?? 200));
    last = await client.rollout(id);
    show(last);
  }
  out.done();
  if (opts.json) return { code: last.rollout.phase === success ? 0 : 1, last };
  const outcome = outcomeLines(last, out, success);
  for (const line of outcome.lines) (outcome.ok ? out.out : out.err)(line);
  return { code: outcome.ok ? 0 : 1, last };
}

/** The rollout followed through the event stream to its end; rejects when the stream cannot be used. */
async function viaStream(client: ControllerClient, id: number, show: (r: RolloutResponse) => void): Promise<RolloutResponse> {
  let last = await client.rollout(id);
  show(last);
  if (last.rollout.finishedAt !== null) return last;
  const service = last.service.service;
  const done = new AbortController();
  // One read at a time; events that arrive during a read ask for one more.
  const reads = coalescingRefresh(async () => {
    last = await client.rollout(id);
    show(last);
    if (last.rollout.finishedAt !== null) done.abort();
  }, done);
  const refresh = reads.refresh;
  const safety = setInterval(refresh, SAFETY_REFRESH_MS);
  try {
    await followEvents(client, { service, signal: done.signal }, (m) => {
      // `ready`: connected; what happened between the first read and now is read once more.
      if (m.type === 'ready' || (m.type === 'event' && (m.data.rolloutId === id || m.data.service === service))) refresh();
    });
  } finally {
    clearInterval(safety);
  }
  await reads.settled();
  if (reads.failure !== undefined) throw reads.failure;
  return last;
}
