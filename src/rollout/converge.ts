/**
 * Strategy steps: given the target release's shape and the instances observed, which instances
 * to start and which to retire this loop, and whether the target is fully in place.
 * Pure functions; `transition.ts` wraps them with deadlines, failure and phase logic.
 */
import { rollingBudget } from '../config/rolling-budget.js';
import type { Action, ObservedInstance, ReleaseShape, TransitionResult } from './types.js';

export { resolveCount } from '../config/rolling-budget.js';

export interface ConvergeStep {
  actions: Action[];
  /** Target instances healthy and serving. */
  ready: number;
  /** True when exactly `instances` target instances are ready and nothing else is left. */
  done: boolean;
}

export const alive = (i: ObservedInstance) => !i.retiring && (i.state === 'running' || i.state === 'restarting');
export const ready = (i: ObservedInstance) => !i.retiring && i.state === 'running' && i.healthy;

/** Orders instances so the least useful go first: not ready before ready, then newest first. */
export function leastUsefulFirst(a: ObservedInstance, b: ObservedInstance): number {
  return Number(ready(a)) - Number(ready(b)) || b.startedAt - a.startedAt;
}

/** The instances these actions retire: they get no traffic from this step on. */
export function retiredIds(actions: readonly Action[]): Set<string> {
  return new Set(actions.flatMap((a) => (a.type === 'retire' ? [a.id] : [])));
}

function retire(list: ObservedInstance[], reason: string): Action[] {
  return list.map((i) => ({ type: 'retire' as const, id: i.id, reason }));
}

function starts(release: number, n: number): Action[] {
  return Array.from({ length: Math.max(0, n) }, () => ({ type: 'start' as const, release }));
}

/**
 * Rolling: surge first. New instances start while the total stays within desired + maxSurge;
 * old ones are retired only while ready instances stay at or above desired - maxUnavailable.
 * With the default (maxSurge 1, maxUnavailable 0) capacity never drops below desired.
 */
export function convergeRolling(
  shape: ReleaseShape,
  instances: ObservedInstance[],
  maxSurge: number | string,
  maxUnavailable: number | string,
): ConvergeStep {
  const n = shape.instances;
  const { surge, unavailable } = rollingBudget(maxSurge, maxUnavailable, n);

  const target = instances.filter((i) => i.release === shape.release && alive(i));
  const old = instances.filter((i) => i.release !== shape.release && alive(i));
  const deadTarget = instances.filter((i) => i.release === shape.release && !i.retiring && i.state === 'failed');
  const deadOld = instances.filter((i) => i.release !== shape.release && !i.retiring && (i.state === 'failed' || i.state === 'stopped'));
  const readyTarget = target.filter(ready);
  const actions: Action[] = [...retire(deadOld, 'not running')];

  // Too many target instances (the shape shrank): retire the extra, least useful first.
  const extra = [...target].sort(leastUsefulFirst).slice(0, Math.max(0, target.length - n));
  actions.push(...retire(extra, 'more instances than desired'));
  const keptTarget = target.filter((i) => !extra.includes(i));
  const keptReady = keptTarget.filter(ready).length;

  // Old instances that are not ready serve nobody: retire them at once, freeing surge room.
  const oldNotReady = old.filter((i) => !ready(i));
  actions.push(...retire(oldNotReady, 'replaced (not ready)'));
  const oldReady = old.filter(ready).sort(leastUsefulFirst);

  const removable = keptReady + oldReady.length - (n - unavailable);
  const retiringOld = oldReady.slice(0, Math.max(0, Math.min(removable, oldReady.length)));
  actions.push(...retire(retiringOld, 'replaced'));

  const remainingOld = oldReady.length - retiringOld.length;
  const room = n + surge - (keptTarget.length + remainingOld);
  actions.push(...starts(shape.release, Math.min(n - keptTarget.length, room)));

  const done = keptReady === n && old.length === 0 && extra.length === 0 && deadTarget.length === 0;
  return { actions, ready: Math.min(readyTarget.length, n), done };
}

/** Recreate: retire everything that is not the target, wait until it is gone, then start the target. */
export function convergeRecreate(shape: ReleaseShape, instances: ObservedInstance[]): ConvergeStep {
  const others = instances.filter((i) => i.release !== shape.release && !i.retiring && i.state !== 'stopped');
  const othersLeaving = instances.some((i) => i.release !== shape.release && i.retiring);
  const target = instances.filter((i) => i.release === shape.release && alive(i));
  const readyTarget = target.filter(ready);
  const actions: Action[] = retire(others, 'recreate: old release stops first');
  const extra = [...target].sort(leastUsefulFirst).slice(0, Math.max(0, target.length - shape.instances));
  actions.push(...retire(extra, 'more instances than desired'));
  if (others.length === 0 && !othersLeaving) actions.push(...starts(shape.release, shape.instances - target.length));
  const done = readyTarget.length === shape.instances && others.length === 0 && !othersLeaving && extra.length === 0;
  return { actions, ready: readyTarget.length, done };
}

export function converge(shape: ReleaseShape, instances: ObservedInstance[]): ConvergeStep {
  const s = shape.strategy;
  if (s.type === 'recreate') return convergeRecreate(shape, instances);
  // Progressive strategies converge like a default rolling update whenever they converge at all
  // (a canary's final promotion, a revert): surge first, capacity never drops.
  return s.type === 'rolling' ? convergeRolling(shape, instances, s.maxSurge, s.maxUnavailable) : convergeRolling(shape, instances, 1, 0);
}

/** Instances that get traffic: running, healthy, not retiring; grouped by release. */
export function routeOf(instances: ObservedInstance[]): { release: number; ids: string[] }[] {
  const byRelease = new Map<number, string[]>();
  for (const i of instances) {
    if (!ready(i)) continue;
    byRelease.set(i.release, [...(byRelease.get(i.release) ?? []), i.id]);
  }
  return [...byRelease.entries()].sort((a, b) => a[0] - b[0]).map(([release, ids]) => ({ release, ids: ids.sort() }));
}

/** Traffic goes to ready instances, never to ones being retired in this very step. */
export function withRoute(
  instances: ObservedInstance[],
  actions: Action[],
  rest: Omit<TransitionResult, 'route' | 'actions'>,
): TransitionResult {
  const leaving = retiredIds(actions);
  return { ...rest, route: routeOf(instances.filter((i) => !leaving.has(i.id))), actions };
}
