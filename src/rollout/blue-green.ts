/**
 * Blue-green: the new release starts at full size beside the old and answers on the preview port;
 * pre-promotion analysis runs; then (on `slipway promote`, at once, or after a delay) all traffic
 * switches in one route update. The old release stays warm for `scaleDownDelay`, during which a
 * failing post-promotion check, `slipway rollback` or `slipway abort` switches straight back. Pure.
 */
import { formatDuration } from '../core/duration.js';
import type { BlueGreenConfig } from '../config/schema.js';
import { detectFailure } from './transition.js';
import { describeRunFailure, pendingUndo, progressive, readyIds, scale, stepRunsFor, undo, verdicts } from './progressive.js';
import type { Observed, RolloutView, TransitionResult, RolloutProgress, BlueGreenStage, Routing } from './types.js';

export function blueGreenTransition(rollout: RolloutView, observed: Observed, now: number, strategy: BlueGreenConfig): TransitionResult {
  const c = progressive(rollout, observed);
  const { to, from, shape, stableSize, p, requests, instances } = c;
  const stage: BlueGreenStage = p.stage ?? 'Preview';
  const stageSince = p.stageSince ?? rollout.startedAt;
  // After the switch, undoing is switching back to the warm old release.
  const pending = pendingUndo(rollout, c, stage === 'Promoted' ? { reason: 'SwitchedBack', verb: 'switched back' } : undefined);
  if (pending) return pending;

  const newReady = readyIds(to, instances);
  const oldReady = readyIds(from, instances);
  const preview: Routing = strategy.previewPort !== undefined ? { previewRelease: to, previewIds: newReady } : {};
  const at = (next: BlueGreenStage): RolloutProgress => ({ ...p, stage: next, stageSince: next === stage ? stageSince : now, ready: newReady.length, desired: shape.instances });
  const result = (phase: 'Progressing' | 'Paused', next: BlueGreenStage, reason: string, message: string, extra: Partial<TransitionResult> = {}): TransitionResult => ({
    route: next === 'Promoted' ? [{ release: to, ids: newReady }] : oldReady.length ? [{ release: from, ids: oldReady }] : [],
    routing: next === 'Promoted' ? {} : preview,
    actions: [...scale(to, shape.instances, instances, 'more instances than desired'), ...(next === 'Promoted' ? [] : scale(from, stableSize, instances, 'more instances than desired'))],
    analysis: [],
    ...extra,
    rollout: { phase, targetRelease: to, reason, message, progress: at(next), finished: false },
  });

  if (stage === 'Preview') {
    if (newReady.length < shape.instances) {
      if (now - stageSince > shape.progressDeadlineMs) return undo(rollout, instances, stableSize, detectFailure(to, instances, Infinity, shape.progressDeadlineMs)!, 'Failed');
      return result('Progressing', 'Preview', 'StartingPreview', `starting release ${to} beside release ${from}: ${newReady.length}/${shape.instances} ready`);
    }
    return result('Progressing', strategy.prePromotionAnalysis.length ? 'PrePromotion' : 'AwaitingPromotion', 'PreviewReady', `release ${to} is ready on ${shape.instances} instance(s)${strategy.previewPort ? ` and answers on preview port ${strategy.previewPort}` : ''}`);
  }

  if (stage === 'PrePromotion') {
    const runs = stepRunsFor('pre', strategy.prePromotionAnalysis, to, from);
    const v = verdicts(runs, observed.analysis);
    if (v.failed) return undo(rollout, instances, stableSize, describeRunFailure(v.failed.key, v.failed.run), 'RolledBack');
    if (requests.promote) return promote('promoted by request', ['promote']);
    if (v.inconclusive) return result('Paused', stage, 'AnalysisInconclusive', `pre-promotion analysis "${v.inconclusive.key.split(':')[1]}" is inconclusive (${v.inconclusive.run.reason}); promote or abort`, { analysis: runs });
    if (v.allSuccessful) return result('Progressing', 'AwaitingPromotion', 'AnalysisPassed', `pre-promotion analysis passed: ${strategy.prePromotionAnalysis.join(', ')}`);
    return result('Progressing', stage, 'Analysing', `pre-promotion analysis of release ${to}: ${strategy.prePromotionAnalysis.join(', ')}`, { analysis: runs });
  }

  if (stage === 'AwaitingPromotion') {
    if (requests.promote) return promote('promoted by request', ['promote']);
    if (requests.pause) return result('Paused', stage, 'PausedByUser', 'paused; resume with `slipway resume` or promote with `slipway promote`');
    const auto = strategy.autoPromote;
    if (auto === false) return result('Paused', stage, 'WaitingForPromotion', `release ${to} is ready; waiting for \`slipway promote\``);
    const left = auto.delayMs - (now - stageSince);
    if (left <= 0) return promote(auto.delayMs ? `promoted automatically after ${formatDuration(auto.delayMs)}` : 'promoted automatically', []);
    return result('Paused', stage, 'WaitingToPromote', `promoting automatically in ${formatDuration(left)}`);
  }

  // Promoted: the new release has all traffic; the old one is warm until scaleDownDelay passes.
  const runs = stepRunsFor('post', strategy.postPromotionAnalysis, to, from);
  const v = verdicts(runs, observed.analysis);
  if (v.failed) return undo(rollout, instances, stableSize, describeRunFailure(v.failed.key, v.failed.run), 'RolledBack');
  const warmLeft = strategy.scaleDownDelay - (now - stageSince);
  if (warmLeft > 0 || !v.allSuccessful) {
    const waiting = warmLeft > 0 ? `release ${from} stays warm for ${formatDuration(warmLeft)}` : `waiting for post-promotion analysis`;
    return result('Progressing', 'Promoted', 'Promoted', `release ${to} serves all traffic; ${waiting}`, { analysis: runs });
  }
  const retire = instances.filter((i) => i.release !== to && !i.retiring).map((i) => ({ type: 'retire' as const, id: i.id, reason: 'scale-down delay passed' }));
  const leftovers = instances.some((i) => i.release !== to);
  if (!leftovers) {
    return { route: [{ release: to, ids: newReady }], actions: [], analysis: [], setCurrent: to, rollout: { phase: 'Healthy', targetRelease: to, reason: 'Completed', message: `release ${to} serves all traffic on ${shape.instances} healthy instance(s)`, progress: at('Promoted'), finished: true } };
  }
  return { route: [{ release: to, ids: newReady }], actions: retire, analysis: [], rollout: { phase: 'Progressing', targetRelease: to, reason: 'ScalingDown', message: `stopping release ${from}`, progress: at('Promoted'), finished: false } };

  function promote(why: string, consumed: TransitionResult['consumed']): TransitionResult {
    // The switch: one route update sends every new request to the new release.
    return result('Progressing', 'Promoted', 'Promoted', `${why}: release ${to} serves all traffic; release ${from} stays warm for ${formatDuration(strategy.scaleDownDelay)}`, { consumed, analysis: stepRunsFor('post', strategy.postPromotionAnalysis, to, from) });
  }
}
