/**
 * How many instances a rolling update may add and take away, for a desired count: the one place
 * that decides it. The rollout engine converges with it; `slipway validate` warns with it where
 * the file says something else would happen.
 */

/** Resolves a count-or-percent ("25%") against the desired count; percentages of surge round up, of unavailability down. */
export function resolveCount(value: number | string, desired: number, round: 'up' | 'down'): number {
  if (typeof value === 'number') return value;
  const pct = Number(value.slice(0, -1)) / 100;
  return round === 'up' ? Math.ceil(desired * pct) : Math.floor(desired * pct);
}

export interface RollingBudget {
  surge: number;
  unavailable: number;
  /** Both came to 0, which could never replace an instance: surge was raised to 1. */
  surgeRaised: boolean;
}

export function rollingBudget(maxSurge: number | string, maxUnavailable: number | string, desired: number): RollingBudget {
  const surge = resolveCount(maxSurge, desired, 'up');
  const unavailable = resolveCount(maxUnavailable, desired, 'down');
  return surge === 0 && unavailable === 0 ? { surge: 1, unavailable, surgeRaised: true } : { surge, unavailable, surgeRaised: false };
}
