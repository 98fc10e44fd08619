/**
 * `slipway watch`'s frame: every service's release, rollout (step, weights, stage), instances
 * ready, traffic by release and the last analysis verdict, from one status answer. The model is
 * what `--json` prints; the lines are what a terminal shows (cut to its width by the caller).
 */
import type { ServiceStatus, StatusResponse } from '../../api/types.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { Output } from '../output.js';
import { table } from '../output.js';

export interface WatchService {
  service: string;
  health: ServiceStatus['health'];
  release: number | null;
  rollout: {
    id: number;
    kind: string;
    phase: string;
    strategy: string;
    fromRelease: number | null;
    toRelease: number;
    step: number | null;
    steps: number | null;
    weight: number | null;
    stage: string | null;
    message: string;
    finished: boolean;
  } | null;
  instances: { ready: number; desired: number; total: number };
  /** Share of new requests per release, 0 to 1. */
  traffic: { release: number; share: number }[];
  verdict: { check: string; phase: string; verdict: string; reason: string; at: number } | null;
}

export interface WatchFrame {
  at: string;
  app: string;
  environment: string;
  services: WatchService[];
}

export function watchFrame(s: StatusResponse, only: string | undefined, now = new Date()): WatchFrame {
  return {
    at: now.toISOString(),
    app: s.app,
    environment: s.environment,
    services: s.services.filter((x) => only === undefined || x.service === only).map(serviceOf),
  };
}

function serviceOf(s: ServiceStatus): WatchService {
  const r = s.rollout;
  const runs = r?.analysis ?? [];
  const last = runs
    .filter((a) => a.last !== null)
    .sort((a, b) => a.last!.at - b.last!.at)
    .at(-1);
  return {
    service: s.service,
    health: s.health,
    release: s.currentRelease,
    rollout: r
      ? {
          id: r.id,
          kind: r.kind,
          phase: r.phase,
          strategy: r.strategy,
          fromRelease: r.fromRelease,
          toRelease: r.toRelease,
          step: r.step ?? null,
          steps: r.steps ?? null,
          weight: r.weight ?? null,
          stage: r.stage ?? null,
          message: r.message,
          finished: r.finishedAt !== null,
        }
      : null,
    instances: {
      ready: s.instances.filter((i) => i.healthy && i.state === 'running' && !i.retiring).length,
      desired: s.desired,
      total: s.instances.length,
    },
    traffic: s.traffic.filter((t) => t.share > 0).map((t) => ({ release: t.release, share: t.share })),
    verdict: last
      ? { check: last.check, phase: last.phase, verdict: last.last!.verdict, reason: last.last!.reason, at: last.last!.at }
      : null,
  };
}

const HEALTH_COLOUR = { Healthy: 'green', Progressing: 'cyan', Degraded: 'yellow', Down: 'red', NotDeployed: 'dim' } as const;
const VERDICT_COLOUR: Record<string, 'green' | 'red' | 'yellow'> = { pass: 'green', fail: 'red', inconclusive: 'yellow' };
const PHASE_COLOUR: Record<string, 'green' | 'cyan' | 'yellow' | 'red'> = {
  Healthy: 'green',
  Progressing: 'cyan',
  Paused: 'yellow',
  AwaitingApproval: 'yellow',
  Degraded: 'red',
  Failed: 'red',
  RolledBack: 'red',
};

/** The frame as lines: a title, a table of services, and a line per rollout in progress saying what it does. */
export function renderWatch(f: WatchFrame, out: Output): string[] {
  const title = `${out.paint('bold', `${terminalLine(f.app)} (${terminalLine(f.environment)})`)}  ${out.paint('dim', f.at.slice(0, 19).replace('T', ' ') + 'Z')}`;
  if (f.services.length === 0) return [title, '', 'no services yet: slipway up deploys them'];
  const rows = [['SERVICE', 'HEALTH', 'RELEASE', 'ROLLOUT', 'STEP', 'TRAFFIC', 'READY', 'LAST VERDICT']];
  const notes: string[] = [];
  for (const s of f.services) {
    const r = s.rollout;
    const active = r !== null && !r.finished;
    rows.push([
      terminalLine(s.service),
      out.paint(HEALTH_COLOUR[s.health], s.health),
      active && r.fromRelease !== r.toRelease ? `${r.fromRelease ?? '–'} → ${r.toRelease}` : String(s.release ?? '–'),
      r ? `#${r.id} ${r.kind} ${out.paint(PHASE_COLOUR[r.phase] ?? 'dim', r.phase)}` : '–',
      r && active ? stepOf(r) : '–',
      s.traffic.length ? s.traffic.map((t) => `r${t.release} ${Math.round(t.share * 100)}%`).join(' ') : '–',
      `${s.instances.ready}/${s.instances.desired}`,
      s.verdict ? `${terminalLine(s.verdict.check)}: ${out.paint(VERDICT_COLOUR[s.verdict.verdict] ?? 'yellow', s.verdict.verdict)}` : '–',
    ]);
    if (active) notes.push(`  ${terminalLine(s.service)} #${r.id}: ${terminalLine(r.message.split('\n')[0] ?? '')}`);
  }
  return [title, '', ...table(rows).split('\n'), ...(notes.length ? ['', ...notes.map((n) => out.paint('dim', n))] : [])];
}

function stepOf(r: NonNullable<WatchService['rollout']>): string {
  if (r.steps !== null) return `${Math.min((r.step ?? 0) + 1, r.steps)}/${r.steps}${r.weight !== null ? ` ${r.weight}%` : ''}`;
  if (r.stage !== null) return r.stage;
  return r.strategy;
}
