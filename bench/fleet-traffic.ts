/**
 * Requests failed through HAProxy during each kind of fleet rollout (issue 8): 3 sshd hosts
 * (labels blue, blue, green) behind `loadBalancer: { haproxy }`, steady load (4 keep-alive loops)
 * through HAProxy while the real CLI deploys a new process release with each strategy:
 *   - rolling, one host at a time (HAProxy takes each host out while it rolls);
 *   - canary (weight 30, pause) promoted to 100% with `slipway promote`;
 *   - blue-green between the two host groups, promoted with `slipway promote`.
 * Per strategy: sent and failed requests summed over the runs, and the median deploy time (for
 * canary and blue-green, with the promotion given as soon as the rollout waits for it). The
 * rolling runs also give the per-host phases of a process release for beside the image one.
 * Needs root and haproxy; skipped otherwise.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { StatusResponse } from '../src/api/types.js';
import { waitFor } from '../src/core/wait-for.js';
import { Fleet } from '../test/support/fleet/fleet.js';
import { startLoad } from '../test/support/load.js';
import { freePort, TestProject } from '../test/support/project.js';
import { median, medianPhases, phasesOf, type Phases } from './fleet-phases.js';

/** Load kept up after each deploy returns (covers blue-green's scale-down of the old group). */
const AFTER_MS = 2500;

export type Strategy = 'rolling' | 'canary' | 'blueGreen';
export const STRATEGIES: Strategy[] = ['rolling', 'canary', 'blueGreen'];

export interface TrafficResult {
  strategy: Strategy;
  sent: number;
  failed: number;
  /** The first few failures' reasons. */
  reasons: string[];
  deployMs: number;
  hostRollMs: number;
  phases: Phases;
  runs: number;
}

export function trafficSkipReason(): string | undefined {
  return Fleet.skipReason() ?? (existsSync('/usr/sbin/haproxy') ? undefined : 'needs haproxy');
}

export async function measureTraffic(runs: number): Promise<TrafficResult[]> {
  const fleet = await Fleet.start({ hosts: 3 });
  const p = new TestProject();
  const groups = ['blue', 'blue', 'green'];
  let previewPort = 0;
  const strategyYaml: Record<Strategy, string> = {
    rolling: '',
    canary: `    strategy:
      canary:
        steps:
          - weight: 30
          - pause: {}`,
    blueGreen: '',
  };
  const write = (version: string, s: Strategy) => {
    let target = fleet.sshTargetYaml();
    fleet.hosts.forEach((h, i) => {
      target = target.replace(`{ host: ${h.address} }`, `{ host: ${h.address}, labels: { group: ${groups[i]} } }`);
    });
    const extra =
      s === 'blueGreen'
        ? `    strategy:
      blueGreen:
        previewPort: ${previewPort}
        autoPromote: false
        scaleDownDelay: 1s`
        : strategyYaml[s];
    return p.writeConfig({
      env: { VERSION: version },
      extra,
      tail: `environments:
  production:
    loadBalancer:
      haproxy: { healthPath: /healthz, checkInterval: 200ms }
${target}`,
    });
  };
  const must = async (args: string[]) => {
    const r = await p.cli(args, { timeoutMs: 180_000 });
    if (r.code !== 0) throw new Error(`slipway ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  };
  const web = async () =>
    (JSON.parse((await p.cli(['status', '--env', 'production', '--json'])).stdout) as StatusResponse).services.find(
      (s) => s.service === 'web',
    )!;
  const progress = async () =>
    (
      JSON.parse((await p.cli(['events', 'web', '--env', 'production', '--json', '-n', '100000'])).stdout) as {
        events: { type: string; data?: { step?: string; ms?: number } }[];
      }
    ).events
      .filter((e) => e.type === 'fleet.progress')
      .map((e) => e.data ?? {});
  try {
    writeFileSync(join(p.dir, 'known_hosts'), fleet.knownHosts());
    previewPort = await freePort();
    await write('v1', 'rolling');
    await must(['up', '--env', 'production']);
    const out: TrafficResult[] = [];
    let release = 1;
    for (const s of STRATEGIES) {
      const res: TrafficResult = { strategy: s, sent: 0, failed: 0, reasons: [], deployMs: 0, hostRollMs: 0, phases: phasesOf([]), runs };
      const deploys: number[] = [];
      const rolls: number[] = [];
      const phases: Phases[] = [];
      for (let i = 0; i < runs; i++) {
        const to = ++release;
        await write(`v${to}`, s);
        const seen = (await progress()).length;
        const load = startLoad(p.url, { concurrency: 4, maxMs: 150_000 });
        const t0 = performance.now();
        const deploying = must(['deploy', 'web', '--env', 'production', '--wait']);
        if (s !== 'rolling') {
          await waitFor(
            `release ${to} to wait for promotion`,
            async () => {
              const w = await web();
              return w.rollout?.toRelease === to && w.rollout.reason === 'WaitingForPromotion';
            },
            120_000,
            100,
          );
          await must(['promote', 'web', '--env', 'production']);
        }
        await deploying;
        deploys.push(performance.now() - t0);
        // The same window after every deploy: blue-green scales the old group down scaleDownDelay (1s) after the switch.
        await new Promise((r) => setTimeout(r, AFTER_MS));
        const totals = await load.stop();
        res.sent += totals.sent;
        res.failed += totals.failed;
        res.reasons.push(...totals.failures.slice(0, 3));
        const mine = (await progress()).slice(seen);
        rolls.push(median(mine.filter((e) => e.step === 'roll').map((e) => e.ms ?? 0)));
        phases.push(phasesOf(mine));
      }
      res.deployMs = median(deploys);
      res.hostRollMs = median(rolls);
      res.phases = medianPhases(phases);
      out.push(res);
    }
    return out;
  } finally {
    await p.cli(['down', '--env', 'production']).catch(() => undefined);
    await p.cleanup();
    await fleet.stop();
  }
}
