/**
 * Where a fleet rollout's time goes, from the rollout's `fleet.progress` events: ship and the
 * agent check (`agent`) per host; roll (rolling) and split (canary, blue-green: one per host and change) per host with the agent's
 * phases: pull, start, health, switch, drain; and a progressive rollout's HAProxy changes on this
 * machine (`haproxy`: switch, or drain of a host group taken out). Shared by the fleet benches
 * (bench/fleet.ts, bench/fleet-images.ts, bench/fleet-traffic.ts).
 */
export interface Phases {
  ship: number;
  /** The host's agent checked (and upgraded when of another version) before anything switches. */
  agent: number;
  pull: number;
  start: number;
  health: number;
  switch: number;
  drain: number;
}

export const PHASE_NAMES: (keyof Phases)[] = ['ship', 'agent', 'pull', 'start', 'health', 'switch', 'drain'];

interface ProgressData {
  step?: string;
  ms?: number;
  phases?: Partial<Record<'pullMs' | 'startMs' | 'healthMs' | 'switchMs' | 'drainMs', number>>;
}

/** Sums the per-host steps of the given progress events (one rollout's) into per-phase ms. */
export function phasesOf(events: ProgressData[]): Phases {
  const p: Phases = { ship: 0, agent: 0, pull: 0, start: 0, health: 0, switch: 0, drain: 0 };
  for (const e of events) {
    if (e.step === 'ship') p.ship += e.ms ?? 0;
    if (e.step === 'agent') p.agent += e.ms ?? 0;
    if ((e.step === 'roll' || e.step === 'split' || e.step === 'haproxy') && e.phases) {
      p.pull += e.phases.pullMs ?? 0;
      p.start += e.phases.startMs ?? 0;
      p.health += e.phases.healthMs ?? 0;
      p.switch += e.phases.switchMs ?? 0;
      p.drain += e.phases.drainMs ?? 0;
    }
  }
  return p;
}

/** "ship 12%, start 30%, …" of the summed per-host time (phases that took no time left out). */
export function shares(p: Phases): string {
  const total = phasesTotal(p) || 1;
  return PHASE_NAMES.filter((k) => p[k] > 0)
    .map((k) => `${k} ${((100 * p[k]) / total).toFixed(0)}%`)
    .join(', ');
}

export function phasesTotal(p: Phases): number {
  return PHASE_NAMES.reduce((s, k) => s + p[k], 0);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Per-phase medians over runs. */
export function medianPhases(runs: Phases[]): Phases {
  return Object.fromEntries(PHASE_NAMES.map((k) => [k, median(runs.map((r) => r[k]))])) as unknown as Phases;
}
