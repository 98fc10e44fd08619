/**
 * Blue-green: the new release starts at full size beside the old and answers on the preview port;
 * pre-promotion analysis runs; then (on `slipway promote`, at once, or after a delay) all traffic
 * switches in one route update. The old release stays warm for `scaleDownDelay`, during which a
 * failing post-promotion check, `slipway rollback` or `slipway abort` switches straight back. Pure.
 */
import { formatDuration } from '../core/duration.js';
import type { BlueGreenConfig } from '../config/schema.js';
import { missedDeadline, servesAllTraffic } from './failure.js';
import { analysisOutcome, pendingUndo, progressive, readyIds, scale, stepRunsFor, undo, type Progressive } from './progressive.js';
import type { BlueGreenStage, Observed, RolloutProgress, RolloutView, Routing, TransitionResult } from './types.js';

type Phase = 'Progressing' | 'Paused';

export function blueGreenTransition(rollout: RolloutView, observed: Observed, now: number, strategy: BlueGreenConfig): TransitionResult {
  const c = progressive(rollout, observed);
  const stage: BlueGreenStage = c.p.stage ?? 'Preview';
  // After the switch, undoing is switching back to the warm old release.
  const pending = pendingUndo(rollout, c, stage === 'Promoted' ? { reason: 'SwitchedBack', verb: 'switched back' } : undefined);
  if (pending) return pending;
  const step = new BlueGreenStep(rollout, observed, now, strategy, c, stage);
  switch (stage) {
    case 'Preview':
      return step.preview();
    case 'PrePromotion':
      return step.prePromotion();
    case 'AwaitingPromotion':
      return step.awaitingPromotion();
    case 'Promoted':
      return step.promoted();
  }
}

/** One transition of a blue-green rollout, a method per stage. */
class BlueGreenStep {
  private readonly to: number;
  private readonly from: number;
  private readonly size: number;
  private readonly since: number;
  private readonly newReady: string[];
  private readonly oldReady: string[];

  constructor(
    private readonly rollout: RolloutView,
    private readonly observed: Observed,
    private readonly now: number,
    private readonly strategy: BlueGreenConfig,
    private readonly c: Progressive,
    private readonly stage: BlueGreenStage,
  ) {
    this.to = c.to;
    this.from = c.from;
    this.size = c.shape.instances;
    this.since = c.p.stageSince ?? rollout.startedAt;
    this.newReady = readyIds(c.to, c.instances);
    this.oldReady = readyIds(c.from, c.instances);
  }

  /** The new release starts at full size beside the old one, which keeps all traffic. */
  preview(): TransitionResult {
    const { to, from, size } = this;
    if (this.newReady.length < size) {
      if (this.elapsed() > this.c.shape.progressDeadlineMs)
        return this.undo(missedDeadline(to, this.c.instances, this.c.shape.progressDeadlineMs), 'Failed');
      return this.stay(
        'Progressing',
        'Preview',
        'StartingPreview',
        `starting release ${to} beside release ${from}: ${this.newReady.length}/${size} ready`,
      );
    }
    const next = this.strategy.prePromotionAnalysis.length ? 'PrePromotion' : 'AwaitingPromotion';
    const port = this.strategy.previewPort ? ` and answers on preview port ${this.strategy.previewPort}` : '';
    return this.stay('Progressing', next, 'PreviewReady', `release ${to} is ready on ${size} instance(s)${port}`);
  }

  /** Pre-promotion analysis of the new release; a person may promote over it. */
  prePromotion(): TransitionResult {
    const checks = this.strategy.prePromotionAnalysis;
    const runs = stepRunsFor('pre', checks, this.to, this.from);
    const outcome = analysisOutcome(runs, this.observed.analysis);
    if (outcome.kind === 'failed') return this.undo(outcome.failure, 'RolledBack');
    const unready = this.unready({ analysis: runs });
    if (unready) return unready;
    if (this.c.requests.promote) return this.promote('promoted by request', ['promote']);
    switch (outcome.kind) {
      case 'inconclusive': {
        const message = `pre-promotion analysis "${outcome.check}" is inconclusive (${outcome.why}); promote or abort`;
        return this.stay('Paused', this.stage, 'AnalysisInconclusive', message, { analysis: runs });
      }
      case 'passed':
        return this.stay('Progressing', 'AwaitingPromotion', 'AnalysisPassed', `pre-promotion analysis passed: ${checks.join(', ')}`);
      case 'running':
        return this.stay('Progressing', this.stage, 'Analysing', `pre-promotion analysis of release ${this.to}: ${checks.join(', ')}`, {
          analysis: runs,
        });
    }
  }

  /** Ready and checked: waits for a person, or promotes itself after `autoPromote`'s delay. */
  awaitingPromotion(): TransitionResult {
    const unready = this.unready();
    if (unready) return unready;
    const { requests } = this.c;
    if (requests.promote) return this.promote('promoted by request', ['promote']);
    if (requests.pause)
      return this.stay('Paused', this.stage, 'PausedByUser', 'paused; resume with `slipway resume` or promote with `slipway promote`');
    const auto = this.strategy.autoPromote;
    if (auto === false)
      return this.stay('Paused', this.stage, 'WaitingForPromotion', `release ${this.to} is ready; waiting for \`slipway promote\``);
    const left = auto.delayMs - this.elapsed();
    if (left > 0) return this.stay('Paused', this.stage, 'WaitingToPromote', `promoting automatically in ${formatDuration(left)}`);
    return this.promote(auto.delayMs ? `promoted automatically after ${formatDuration(auto.delayMs)}` : 'promoted automatically', []);
  }

  /** The new release has all traffic; the old one stays warm until scaleDownDelay passes and post-promotion analysis passed. */
  promoted(): TransitionResult {
    const { to, from } = this;
    const runs = stepRunsFor('post', this.strategy.postPromotionAnalysis, to, from);
    const outcome = analysisOutcome(runs, this.observed.analysis);
    if (outcome.kind === 'failed') return this.undo(outcome.failure, 'RolledBack');
    const warmLeft = this.strategy.scaleDownDelay - this.elapsed();
    if (warmLeft > 0 || outcome.kind !== 'passed') {
      const waiting = warmLeft > 0 ? `release ${from} stays warm for ${formatDuration(warmLeft)}` : 'waiting for post-promotion analysis';
      return this.stay('Progressing', 'Promoted', 'Promoted', `release ${to} serves all traffic; ${waiting}`, { analysis: runs });
    }
    const route = [{ release: to, ids: this.newReady }];
    const progress = this.progressAt('Promoted');
    if (!this.c.instances.some((i) => i.release !== to)) {
      const rollout = {
        phase: 'Healthy' as const,
        targetRelease: to,
        reason: 'Completed',
        message: servesAllTraffic(to, this.size),
        progress,
        finished: true,
      };
      return { route, actions: [], analysis: [], setCurrent: to, rollout };
    }
    const actions = this.c.instances
      .filter((i) => i.release !== to && !i.retiring)
      .map((i) => ({ type: 'retire' as const, id: i.id, reason: 'scale-down delay passed' }));
    return {
      route,
      actions,
      analysis: [],
      rollout: {
        phase: 'Progressing',
        targetRelease: to,
        reason: 'ScalingDown',
        message: `stopping release ${from}`,
        progress,
        finished: false,
      },
    };
  }

  /**
   * The switch needs the new release ready in full whenever it is judged, not only once: an
   * instance may fail after the preview, and a restarted controller knows no instance's health
   * before its first probe. Switching then would leave users fewer backends than they had, or
   * none. Meanwhile the old release keeps the traffic and a promotion asked for waits, for the
   * progress deadline at most (counted from when it stopped being ready): then the rollout fails.
   */
  private unready(extra: Partial<TransitionResult> = {}): TransitionResult | undefined {
    if (this.newReady.length >= this.size) return undefined;
    const { progressDeadlineMs } = this.c.shape;
    const since = this.c.p.unreadySince ?? this.now;
    if (this.now - since > progressDeadlineMs) return this.undo(missedDeadline(this.to, this.c.instances, progressDeadlineMs), 'Failed');
    const message = `release ${this.to} is ${this.newReady.length}/${this.size} ready; the switch waits until every instance is (or \`slipway abort\`)`;
    const r = this.stay('Progressing', this.stage, 'WaitingForReady', message, extra);
    r.rollout!.progress = { ...r.rollout!.progress, unreadySince: since };
    return r;
  }

  /** The switch: one route update sends every new request to the new release. */
  private promote(why: string, consumed: TransitionResult['consumed']): TransitionResult {
    const message = `${why}: release ${this.to} serves all traffic; release ${this.from} stays warm for ${formatDuration(this.strategy.scaleDownDelay)}`;
    return this.stay('Progressing', 'Promoted', 'Promoted', message, {
      consumed,
      analysis: stepRunsFor('post', this.strategy.postPromotionAnalysis, this.to, this.from),
    });
  }

  /**
   * The rollout goes on at stage `next`: before the switch the old release has the traffic (and the
   * new one the preview listener), after it the new one; both are kept at full size until then.
   */
  private stay(
    phase: Phase,
    next: BlueGreenStage,
    reason: string,
    message: string,
    extra: Partial<TransitionResult> = {},
  ): TransitionResult {
    const promoted = next === 'Promoted';
    const { to, from, c } = this;
    const route = promoted ? [{ release: to, ids: this.newReady }] : this.oldReady.length ? [{ release: from, ids: this.oldReady }] : [];
    const actions = [...scale(to, this.size, c.instances, 'more instances than desired')];
    if (!promoted) actions.push(...scale(from, c.stableSize, c.instances, 'more instances than desired'));
    return {
      route,
      routing: promoted ? {} : this.previewRouting(),
      actions,
      analysis: [],
      ...extra,
      rollout: { phase, targetRelease: to, reason, message, progress: this.progressAt(next), finished: false },
    };
  }

  private undo(why: { reason: string; message: string }, terminal: 'RolledBack' | 'Failed'): TransitionResult {
    return undo(this.rollout, this.c.instances, this.c.stableSize, why, terminal);
  }

  private previewRouting(): Routing {
    return this.strategy.previewPort !== undefined ? { previewRelease: this.to, previewIds: this.newReady } : {};
  }

  private progressAt(next: BlueGreenStage): RolloutProgress {
    const stageSince = next === this.stage ? this.since : this.now;
    const { unreadySince: _, ...p } = this.c.p; // kept only by unready()
    return { ...p, stage: next, stageSince, ready: this.newReady.length, desired: this.size };
  }

  private elapsed(): number {
    return this.now - this.since;
  }
}
