/** A small simulated world for rollout transition tests (no I/O). */
import { transition } from './transition.js';
import { settledProgress } from './settle.js';
import type { ObservedInstance, Observed, ReleaseShape, RolloutView, RunView, TransitionResult } from './types.js';

export function inst(id: string, release: number, over: Partial<ObservedInstance> = {}): ObservedInstance {
  return {
    id,
    release,
    state: 'running',
    healthy: true,
    retiring: false,
    startedAt: 0,
    restarts: 0,
    lastExit: null,
    lastProbe: null,
    ...over,
  };
}

/**
 * A small world that applies actions the way the controller does: a started instance comes up
 * unhealthy and turns healthy (or not) on the next step; a retired one drains for a step, then goes.
 */
export class World {
  instances: ObservedInstance[] = [];
  current: number | null = null;
  seq = 0;
  minServing = Infinity;
  constructor(
    public shapes: Record<number, ReleaseShape>,
    public healthyRelease: (r: number) => boolean | 'crash' = () => true,
  ) {}

  /** Analysis run verdicts by key, as the controller would observe them. */
  analysis: Record<string, RunView> = {};
  /** Traffic weight per release of the last route (share of 1). */
  lastShares: Record<number, number> = {};

  step(rollout: RolloutView | null, now: number): TransitionResult {
    // Since the last step: retired instances finished draining and are gone; started ones got their health.
    this.instances = this.instances
      .filter((i) => !i.retiring)
      .map((i) => {
        const h = this.healthyRelease(i.release);
        return h === 'crash'
          ? { ...i, state: 'failed' as const, healthy: false, restarts: 3, lastExit: { code: 1, signal: null, at: now, uptimeMs: 10 } }
          : { ...i, healthy: h };
      });
    const observed: Observed = {
      current: this.current,
      shapes: this.shapes,
      instances: this.instances.map((i) => ({ ...i })),
      analysis: this.analysis,
    };
    const out = transition(rollout, observed, now);
    const serving = out.route.reduce((n, r) => n + r.ids.length, 0);
    this.minServing = Math.min(this.minServing, serving);
    const total = out.route.reduce((n, r) => n + (r.weight ?? r.ids.length), 0);
    this.lastShares = Object.fromEntries(out.route.map((r) => [r.release, total ? (r.weight ?? r.ids.length) / total : 0]));
    for (const a of out.actions) {
      if (a.type === 'start') this.instances.push(inst(`i${++this.seq}`, a.release, { healthy: false, startedAt: now }));
      else this.instances = this.instances.map((i) => (i.id === a.id ? { ...i, retiring: true } : i));
    }
    if (out.setCurrent !== undefined) this.current = out.setCurrent;
    return out;
  }

  run(
    view: RolloutView,
    opts: { stepMs?: number; maxSteps?: number } = {},
  ): { view: RolloutView; result: TransitionResult; steps: number } {
    let v = view;
    for (let k = 0; k < (opts.maxSteps ?? 50); k++) {
      const result = this.step(v, v.startedAt + k * (opts.stepMs ?? 1000));
      const r = result.rollout!;
      v = next(v, result);
      if (r.finished) return { view: v, result, steps: k + 1 };
    }
    throw new Error(`rollout did not finish: ${JSON.stringify(v)}`);
  }
}

/** The rollout view after a transition, settled by the controller's own bookkeeping. */
export function next(v: RolloutView, result: TransitionResult): RolloutView {
  const r = result.rollout!;
  return { ...v, phase: r.phase, targetRelease: r.targetRelease, progress: settledProgress(result) };
}

export function startRollout(from: number | null, to: number): RolloutView {
  return { kind: 'deploy', phase: 'Progressing', fromRelease: from, toRelease: to, targetRelease: to, startedAt: 0, progress: {} };
}
