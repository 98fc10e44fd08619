/**
 * Where a fleet rollout's time goes, from the rollout's `fleet.progress` events (ship per host;
 * roll per host with the agent's phases: pull, start, health, switch, drain). Shared by the fleet
 * benches (bench/fleet.ts, bench/fleet-images.ts).
 */
export interface Phases {
  ship: number;
  pull: number;
  start: number;
  health: number;
  switch: number;
  drain: number;
}

export const PHASE_NAMES: (keyof Phases)[] = ['ship', 'pull', 'start', 'health', 'switch', 'drain'];

interface ProgressData {
  step?: string;
  ms?: number;
  phases?: { pullMs: number; startMs: number; healthMs: number; switchMs: number; drainMs: number };
}

/** Sums the per-host steps of the given progress events (one rollout's) into per-phase ms. */
export function phasesOf(events: ProgressData[]): Phases {
  const p: Phases = { ship: 0, pull: 0, start: 0, health: 0, switch: 0, drain: 0 };
  for (const e of events) {
    if (e.step === 'ship') p.ship += e.ms ?? 0;
    if (e.step === 'roll' && e.phases) {
      p.pull += e.phases.pullMs;
      p.start += e.phases.startMs;
      p.health += e.phases.healthMs;
      p.switch += e.phases.switchMs;
      p.drain += e.phases.drainMs;
    }
  }
  return p;
}

/** "ship 12% pull 0% start 30% …" of the summed per-host time. */
export function shares(p: Phases): string {
  const total = PHASE_NAMES.reduce((s, k) => s + p[k], 0) || 1;
  return PHASE_NAMES.map((k) => `${k} ${((100 * p[k]) / total).toFixed(0)}%`).join(', ');
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Per-phase medians over runs. */
export function medianPhases(runs: Phases[]): Phases {
  return Object.fromEntries(PHASE_NAMES.map((k) => [k, median(runs.map((r) => r[k]))])) as unknown as Phases;
}
