/**
 * Each kind of fleet rollout through HAProxy (issue 8): 3 sshd hosts behind
 * `loadBalancer: { haproxy }`, steady load (4 keep-alive loops) through HAProxy while the real CLI
 * deploys a new process release with each strategy, none waiting for a person:
 *   - rolling, one host at a time (HAProxy takes each host out while it rolls);
 *   - canary, steps 50 → 100, no pause, no analysis (every host splits by the step's weight);
 *   - blue-green beside the old release on every host (`autoPromote: true`, previewPort);
 *   - blue-green between two host groups (labels blue, blue, green): the new release comes up on
 *     the idle group alone, HAProxy switches groups (`autoPromote: true`).
 * Per strategy and run: sent and failed requests (summed over runs), the time from `slipway
 * deploy` to the engine's promotion (rolling: the rollout healthy; canary: weight 100; blue-green:
 * the switch) and to `deploy --wait` returning (blue-green keeps the old release warm 1 s more),
 * and where the time went, from the rollout's `fleet.progress` events (bench/fleet-phases.ts):
 * ship, and each host's roll or splits (start, health, switch, drain) plus HAProxy's changes
 * (switch, drain of the group taken out). Medians over runs.
 * Needs root and haproxy; skipped otherwise.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControllerClient } from '../src/client/client.js';
import type { EventRecord } from '../src/store/types.js';
import { Fleet } from '../test/support/fleet/fleet.js';
import { startLoad } from '../test/support/load.js';
import { freePort, TestProject } from '../test/support/project.js';
import { median, medianPhases, phasesOf, type Phases } from './fleet-phases.js';

/**
 * Load kept up after each deploy returns: `deploy --wait` returns once the rollout finished (the
 * old release stopped), and a canary's or blue-green's last HAProxy change follows it.
 */
const AFTER_MS = 1500;

export type Strategy = 'rolling' | 'canary' | 'blueGreen' | 'blueGreenGroups';
/** In this order on one project: the groups last, as they leave one group idle. */
export const STRATEGIES: Strategy[] = ['rolling', 'canary', 'blueGreen', 'blueGreenGroups'];

export interface TrafficResult {
  strategy: Strategy;
  sent: number;
  failed: number;
  /** The first few failures' reasons. */
  reasons: string[];
  /** Median from `slipway deploy` to the rollout's start (the CLI, the build, the controller taking it), ms. */
  startedMs: number;
  /** Median from `slipway deploy` to the promotion the controller recorded, ms. */
  promotedMs: number;
  /** Median `slipway deploy --wait`, ms. */
  deployMs: number;
  /** Median per-host roll (rolling only; 0 otherwise), ms. */
  hostRollMs: number;
  /** Per-phase medians, summed over hosts (and HAProxy's changes). */
  phases: Phases;
  runs: number;
}

export function trafficSkipReason(): string | undefined {
  return Fleet.skipReason() ?? (existsSync('/usr/sbin/haproxy') ? undefined : 'needs haproxy');
}

/**
 * When the new release had all traffic: rolling, the rollout healthy (the last host back in
 * HAProxy); otherwise once the engine's promotion (canary: weight 100; blue-green: the switch)
 * was carried out: HAProxy's change between groups, or every host's next split.
 */
function promotedAt(s: Strategy, events: EventRecord[]): number | undefined {
  if (s === 'rolling') return events.find((e) => e.type === 'rollout.healthy')?.at;
  const i = events.findIndex(
    (e) =>
      e.type === 'rollout.healthy' ||
      (e.type === 'rollout.step' && (s === 'canary' ? e.data.weight === 100 : e.data.stage === 'Promoted')) ||
      // A promotion that also changes the phase is recorded as the phase's event, with its reason.
      (s !== 'canary' && e.type.startsWith('rollout.') && e.data.reason === 'Promoted'),
  );
  if (i < 0) return undefined;
  const after = events.slice(i + 1).filter((e) => e.type === 'fleet.progress');
  if (s === 'blueGreenGroups') return after.find((e) => e.data.step === 'haproxy')?.at;
  const hosts = new Map<unknown, number>();
  for (const e of after) if (e.data.step === 'split' && !hosts.has(e.data.host)) hosts.set(e.data.host, e.at);
  return hosts.size ? Math.max(...hosts.values()) : events[i]!.at;
}

export async function measureTraffic(runs: number): Promise<TrafficResult[]> {
  const fleet = await Fleet.start({ hosts: 3 });
  const p = new TestProject();
  const groups = ['blue', 'blue', 'green'];
  let previewPort = 0;
  const strategyYaml = (s: Strategy): string => {
    if (s === 'canary')
      return `    strategy:
      canary:
        steps:
          - weight: 50
          - weight: 100`;
    if (s === 'blueGreen' || s === 'blueGreenGroups')
      return `    strategy:
      blueGreen:
        previewPort: ${previewPort}
        autoPromote: true
        scaleDownDelay: 1s`;
    return '';
  };
  const write = (version: string, s: Strategy) => {
    // Rolling one host at a time; canary and blue-green ship to (and check the agent of) every
    // host at once, as the default `parallel: 5` does on 3 hosts: nothing switches while they ship.
    let target = s === 'rolling' ? fleet.sshTargetYaml() : fleet.sshTargetYaml().replace('parallel: 1', 'parallel: 3');
    // Group labels only where they are meant: with HAProxy, two groups make any blue-green switch groups.
    if (s === 'blueGreenGroups')
      fleet.hosts.forEach((h, i) => {
        target = target.replace(`{ host: ${h.address} }`, `{ host: ${h.address}, labels: { group: ${groups[i]} } }`);
      });
    return p.writeConfig({
      env: { VERSION: version },
      extra: strategyYaml(s),
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
  // The events recorded since the last call, read from the controller's API (pages of 200): a
  // client per call, as the controller's address is read from the project each time.
  let after = 0;
  const newEvents = async (): Promise<EventRecord[]> => {
    const out: EventRecord[] = [];
    for (let page = 0; page < 100; page++) {
      const got = (await ControllerClient.connect(p.dir, 'production').events({ service: 'web', after })).events;
      if (!got.length) break;
      out.push(...got);
      after = got.at(-1)!.id;
    }
    return out;
  };
  try {
    writeFileSync(join(p.dir, 'known_hosts'), fleet.knownHosts());
    previewPort = await freePort();
    await write('v1', 'rolling');
    await must(['up', '--env', 'production']);
    const out: TrafficResult[] = [];
    let release = 1;
    for (const s of STRATEGIES) {
      const res: TrafficResult = {
        strategy: s,
        sent: 0,
        failed: 0,
        reasons: [],
        startedMs: 0,
        promotedMs: 0,
        deployMs: 0,
        hostRollMs: 0,
        phases: phasesOf([]),
        runs,
      };
      const started: number[] = [];
      const promoted: number[] = [];
      const deploys: number[] = [];
      const rolls: number[] = [];
      const phases: Phases[] = [];
      for (let i = 0; i < runs; i++) {
        const to = ++release;
        await write(`v${to}`, s);
        await newEvents();
        const load = startLoad(p.url, { concurrency: 4, maxMs: 150_000 });
        const t0 = Date.now();
        await must(['deploy', 'web', '--env', 'production', '--wait']);
        deploys.push(Date.now() - t0);
        // The same window after every deploy.
        await new Promise((r) => setTimeout(r, AFTER_MS));
        const totals = await load.stop();
        res.sent += totals.sent;
        res.failed += totals.failed;
        res.reasons.push(...totals.failures.slice(0, 3));
        // This deploy's events (its last HAProxy change included), stamped with this machine's clock.
        const mine = await newEvents();
        const at = promotedAt(s, mine);
        if (at === undefined) throw new Error(`${s}: no promotion among the deploy's events: ${mine.map((e) => e.type).join(', ')}`);
        promoted.push(at - t0);
        started.push((mine.find((e) => e.type === 'rollout.started')?.at ?? t0) - t0);
        const progress = mine.filter((e) => e.type === 'fleet.progress').map((e) => e.data);
        if (s === 'rolling') rolls.push(median(progress.filter((e) => e.step === 'roll').map((e) => Number(e.ms ?? 0))));
        phases.push(phasesOf(progress));
      }
      res.startedMs = median(started);
      res.promotedMs = median(promoted);
      res.deployMs = median(deploys);
      res.hostRollMs = rolls.length ? median(rolls) : 0;
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
