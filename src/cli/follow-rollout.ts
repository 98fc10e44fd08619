/** Follows a rollout to its end, showing instances ready and traffic per release; returns the exit code. */
import type { ControllerClient } from '../client/client.js';
import type { RolloutResponse } from '../api/types.js';
import { formatNumbers, type Output } from './output.js';

/**
 * `success` is the phase the caller asked for: `Healthy` for a deploy, `RolledBack` when the
 * caller undid a rollout in progress (slipway rollback during a rollout).
 */
export async function followRollout(client: ControllerClient, id: number, out: Output, opts: { json: boolean; success?: 'Healthy' | 'RolledBack' }): Promise<{ code: number; last: RolloutResponse }> {
  const success = opts.success ?? 'Healthy';
  let last: RolloutResponse;
  for (;;) {
    last = await client.rollout(id);
    const r = last.rollout;
    if (!opts.json) out.progress(progressLine(last, out));
    if (r.finishedAt !== null) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  out.done();
  const r = last.rollout;
  if (opts.json) return { code: r.phase === success ? 0 : 1, last };
  if (r.phase === success && success === 'RolledBack') {
    out.out(`${out.paint('green', '✓')} ${last.service.service}: rollout #${r.id} undone; ${r.message}`);
    return { code: 0, last };
  }
  if (r.phase === 'Healthy') {
    out.out(`${out.paint('green', '✓')} ${last.service.service}: release ${r.toRelease} is live (${r.ready}/${r.desired} healthy) at ${last.service.url}`);
    return { code: 0, last };
  }
  out.err(`${out.paint('red', '✗')} ${last.service.service}: ${r.kind} to release ${r.toRelease} ${r.phase === 'RolledBack' ? 'rolled back' : r.phase.toLowerCase()} (${r.reason})`);
  out.err(`  ${r.message.split('\n').join('\n  ')}`);
  for (const a of r.analysis.filter((x) => x.phase === 'Failed' || x.phase === 'Error')) {
    out.err(`  analysis ${a.check}: ${a.reason}${a.last ? ` [${formatNumbers(a.last.numbers)}]` : ''}`);
  }
  out.err(`  Next: fix the release and deploy again; inspect with \`slipway logs ${last.service.service}\` and \`slipway history ${last.service.service}\`.`);
  return { code: 1, last };
}

export function progressLine(res: RolloutResponse, out: Output): string {
  const r = res.rollout;
  const traffic = res.service.traffic.filter((t) => t.backends > 0 && t.share > 0).map((t) => `r${t.release} ${Math.round(t.share * 100)}%`).join(' · ') || 'none';
  const phase = r.phase === 'Progressing' ? out.paint('cyan', r.phase) : r.phase === 'Healthy' ? out.paint('green', r.phase) : out.paint('yellow', r.phase);
  const where = r.steps !== undefined ? `  step ${Math.min((r.step ?? 0) + 1, r.steps)}/${r.steps}` : r.stage ? `  ${r.stage}` : '';
  const checks = r.analysis.filter((a) => a.phase !== 'Successful' || a.last).map((a) => `${a.key} ${a.phase.toLowerCase()}`).join(', ');
  // While paused or failing, say what it waits for or why.
  const why = r.phase === 'Paused' || r.phase === 'Degraded' ? `  — ${r.message.split('\n')[0]}` : '';
  return `${res.service.service}: ${r.kind} → release ${r.toRelease}  ${phase}${where}  ready ${r.ready ?? 0}/${r.desired ?? '?'}  traffic ${traffic}${checks ? `  analysis: ${checks}` : ''}${why}`;
}
