/**
 * Fleet rollout benchmark (issue 8): a small process release (the test fixture app, 2 instances
 * per host) on test fleets of 3 and of 10 hosts (network namespaces with sshd, test/support/fleet),
 * through the host agents (ADR 0026). Per fleet size, the median of RUNS runs of:
 *   - set up: connect to every host and start its agent (what a first deploy does first);
 *   - ship, cold (nothing on the hosts) and warm (a new release with one file changed);
 *   - roll a new release one host at a time (parallel 1), and a whole rollout (ship + roll) of a
 *     new release in batches of 5 hosts (parallel 5, maxUnavailableHosts 5);
 *   - the baseline: a plain OpenSSH loop doing the same copy and restart on every host at once
 *     (`tar | ssh 'tar -x; kill the old; start the new; wait for /healthz'`: no content store, no
 *     verification, no zero-downtime switch), and the ratio of Slipway's whole rollout to it;
 *   - where the hosts' time went in the one-at-a-time roll (ship, start, health, switch, drain:
 *     the rollout's progress notes and the agent's roll phases).
 * Then, by the real CLI: an image release on 3 hosts (bench/fleet-images.ts), and a rolling, a
 * canary and a blue-green rollout (beside the old release, and between two host groups) through
 * HAProxy on 3 hosts: requests failed, time to promoted and where it went (bench/fleet-traffic.ts).
 *
 * Needs root (the fleet); skipped otherwise. Run: `npm run bench -- fleet` (or one part:
 * `--fleet=process`, `--fleet=images`, `--fleet=traffic`; `--fleet-image-hosts=3,10`).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ArtifactStore } from '../src/artifact/artifact-store.js';
import { tempDir } from '../src/artifact/artifact-testing.js';
import { buildArtifact } from '../src/artifact/build.js';
import type { SshTargetConfig } from '../src/config/schema.js';
import { silentLogger } from '../src/core/logger.js';
import { DEFAULT_RESTART_POLICY } from '../src/drivers/driver.js';
import type { RollRequest } from '../src/fleet/agent/protocol.js';
import { rollFleet } from '../src/fleet/fleet-rollout.js';
import { FleetRuntime } from '../src/fleet/fleet-runtime.js';
import { eachHost } from '../src/fleet/fleet-target.js';
import { planRelease, shipRelease, type ReleasePlan } from '../src/fleet/ship.js';
import { Fleet } from '../test/support/fleet/fleet.js';
import { imageSkipReason, measureImages, type ImageResult } from './fleet-images.js';
import { median, medianPhases, PHASE_NAMES, phasesOf, phasesTotal, shares, type Phases } from './fleet-phases.js';
import { measureTraffic, trafficSkipReason, type Strategy } from './fleet-traffic.js';

const FIXTURE = resolve(fileURLToPath(new URL('../..', import.meta.url)), 'test/fixtures/app/server.js');

const RUNS = 3;
const SIZES = [3, 10];
const sh = promisify(execFile);

/** The plain-SSH peer: copy the source, stop the old process, start the new one, wait until it answers. */
const BASELINE = `d=/tmp/baseline/$1; mkdir -p "$d" && tar -xzf - -C "$d" || exit 1
old=$(cat /tmp/baseline/pid 2>/dev/null); [ -n "$old" ] && kill $old 2>/dev/null
while [ -n "$old" ] && kill -0 $old 2>/dev/null; do sleep 0.02; done
cd "$d" && PORT=9090 VERSION=$1 setsid node server.js </dev/null >/tmp/baseline/log 2>&1 & echo $! > /tmp/baseline/pid
i=0; until curl -sf http://127.0.0.1:9090/healthz >/dev/null; do i=$((i+1)); [ $i -gt 200 ] && exit 1; sleep 0.05; done`;

export async function run(): Promise<void> {
  const skip = Fleet.skipReason();
  if (skip) {
    console.log(`fleet: skipped (${skip})`);
    return;
  }
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const parts = arg('fleet')?.split(',') ?? ['process', 'images', 'traffic'];
  const imageHosts = (arg('fleet-image-hosts') ?? '3').split(',').map(Number);
  let baseline3: number | undefined;
  // Each part's own duration: the whole bench is meant to stay within about 6 minutes here.
  const timed = async (name: string, fn: () => Promise<void>) => {
    const t0 = performance.now();
    await fn();
    console.log(`  (fleet ${name}: ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  };
  if (parts.includes('process')) await timed('process', async () => void (baseline3 = await processTable()));
  if (parts.includes('images')) await timed('images', () => imageTable(imageHosts, baseline3));
  if (parts.includes('traffic')) await timed('traffic', () => trafficTable(baseline3));
}

async function processTable(): Promise<number> {
  const rows: string[][] = [];
  const results = new Map<number, Record<string, number>>();
  const phases = new Map<number, Phases>();
  for (const n of SIZES) {
    const r = await measure(n);
    results.set(n, r.times);
    phases.set(n, r.phases);
  }
  const keys: [string, string][] = [
    ['setup', 'set up: connect, start every agent'],
    ['shipCold', 'ship, cold (2 files, nothing on the hosts)'],
    ['shipWarm', 'ship, warm (1 file changed)'],
    ['rollOne', 'roll a release, one host at a time'],
    ['rollout5', 'rollout (ship + roll), batches of 5 hosts'],
    ['baseline', 'baseline: tar | ssh copy + restart, all hosts at once'],
  ];
  for (const [k, label] of keys) rows.push([label, ...SIZES.map((n) => `${(results.get(n)![k]! / 1000).toFixed(2)} s`)]);
  rows.push([
    'rollout (batches of 5) / baseline',
    ...SIZES.map((n) => `${(results.get(n)!.rollout5! / results.get(n)!.baseline!).toFixed(2)}x`),
  ]);
  console.log(`fleet: median of ${RUNS} runs, 2 instances per host (load average ${loadavg()[0]!.toFixed(1)})`);
  console.log(table([['', ...SIZES.map((n) => `${n} hosts`)], ...rows]));
  for (const n of SIZES) console.log(`  ${n} hosts, roll one host at a time, summed over hosts: ${shares(phases.get(n)!)}`);
  return results.get(3)!.baseline!;
}

async function imageTable(sizes: number[], baseline3: number | undefined): Promise<void> {
  const skip = imageSkipReason();
  if (skip) {
    console.log(`fleet images: skipped (${skip})`);
    return;
  }
  const results: ImageResult[] = [];
  for (const n of sizes) results.push(await measureImages(n, RUNS));
  console.log(
    `\nfleet images: median of ${RUNS} deploys of a new image release (podman, pulled by digest from a registry on the bridge), one host at a time, 2 instances per host (load average ${loadavg()[0]!.toFixed(1)})`,
  );
  console.log(
    table([
      ['', ...results.map((r) => `${r.hosts} hosts`)],
      ['slipway deploy --wait (build, push, roll)', ...results.map((r) => `${(r.deployMs / 1000).toFixed(2)} s`)],
      ['one host roll (agent: pull..drain)', ...results.map((r) => `${(r.hostRollMs / 1000).toFixed(2)} s`)],
      ...(baseline3 !== undefined
        ? [
            [
              'deploy / tar | ssh baseline (3 hosts)',
              ...results.map((r) => (r.hosts === 3 ? `${(r.deployMs / baseline3).toFixed(2)}x` : '-')),
            ],
          ]
        : []),
    ]),
  );
  for (const r of results) console.log(`  ${r.hosts} hosts, summed over hosts: ${shares(r.phases)}`);
}

async function trafficTable(baseline3: number | undefined): Promise<void> {
  const skip = trafficSkipReason();
  if (skip) {
    console.log(`fleet traffic: skipped (${skip})`);
    return;
  }
  const results = await measureTraffic(RUNS);
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const label: Record<Strategy, string> = {
    rolling: 'rolling, one host at a time',
    canary: 'canary 50 -> 100, no pause',
    blueGreen: 'blue-green beside the old release',
    blueGreenGroups: 'blue-green between two host groups',
  };
  console.log(
    `\nfleet through HAProxy: ${RUNS} deploys of a process release per strategy on 3 hosts, 4 keep-alive loops through HAProxy; times from the start of slipway deploy, medians (load average ${loadavg()[0]!.toFixed(1)})`,
  );
  console.log(
    table([
      [
        'strategy',
        'sent',
        'failed',
        'rollout started',
        'promoted',
        'deploy --wait returned',
        ...(baseline3 !== undefined ? ['/ baseline'] : []),
      ],
      ...results.map((r) => [
        label[r.strategy],
        String(r.sent),
        String(r.failed),
        s(r.startedMs),
        s(r.promotedMs),
        s(r.deployMs),
        ...(baseline3 !== undefined ? [`${(r.deployMs / baseline3).toFixed(2)}x`] : []),
      ]),
    ]),
  );
  console.log("\nwhere the time went, summed over hosts (and HAProxy's changes), medians per phase:");
  const names = PHASE_NAMES.filter((k) => results.some((r) => r.phases[k] >= 10));
  console.log(
    table([
      ['strategy', ...names, 'all phases'],
      ...results.map((r) => {
        const total = phasesTotal(r.phases) || 1;
        return [
          label[r.strategy],
          ...names.map((k) => `${s(r.phases[k])} ${((100 * r.phases[k]) / total).toFixed(0)}%`),
          s(phasesTotal(r.phases)),
        ];
      }),
    ]),
  );
  for (const r of results) {
    if (r.hostRollMs) console.log(`  ${label[r.strategy]}: one host's roll ${s(r.hostRollMs)} (median)`);
    if (r.reasons.length) console.log(`  ${label[r.strategy]} failures: ${[...new Set(r.reasons)].slice(0, 3).join('; ')}`);
  }
}

async function measure(hosts: number): Promise<{ times: Record<string, number>; phases: Phases }> {
  const work = await tempDir('slipway-bench-fleet-');
  const fleet = await Fleet.start({ hosts });
  const known = join(work.dir, 'known_hosts');
  await writeFile(known, fleet.knownHosts());
  const ssh = { user: 'root', root: '/var/lib/slipway', parallel: hosts, maxUnavailableHosts: 1 } as SshTargetConfig;
  const rt = new FleetRuntime(
    {
      environment: 'bench',
      ssh,
      hosts: fleet.hosts.map((h) => ({
        name: h.address,
        labels: {},
        target: { host: h.address, port: 22, user: 'root', identityFile: fleet.keyFile, knownHosts: known },
      })),
    },
    silentLogger,
  );
  const times: Record<string, number[]> = {};
  const time = async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const r = await fn();
    (times[key] ??= []).push(performance.now() - t0);
    return r;
  };
  try {
    const src = join(work.dir, 'src');
    await mkdir(src, { recursive: true });
    await copyFile(FIXTURE, join(src, 'server.js'));
    const store = new ArtifactStore(join(work.dir, 'store'));
    const build = async (version: string): Promise<{ plan: ReleasePlan; digest: string }> => {
      await writeFile(join(src, 'VERSION'), version);
      const r = await buildArtifact({ sourceDir: src, workRoot: join(work.dir, 'work'), store });
      const indexed = store.indexed(r.digest)!;
      return { plan: await planRelease(indexed.archive, indexed.index), digest: r.digest };
    };
    const roll = (release: number, digest: string): RollRequest => ({
      service: 'web.bench',
      release,
      instances: 2,
      spec: {
        service: 'web.bench',
        release,
        releaseDir: rt.layout.release(digest),
        command: 'node server.js',
        env: { VERSION: `v${release}` },
        logMaxBytes: 10_000_000,
        logFiles: 2,
        restart: DEFAULT_RESTART_POLICY,
      },
      listen: { host: '0.0.0.0', port: 8080 },
      health: { check: { kind: 'http', path: '/healthz', timeoutMs: 1000 }, intervalMs: 100, healthyAfter: 1 },
      deadlineMs: 60_000,
      stopTimeoutMs: 5000,
      idSuffix: '',
    });
    const shipAll = async (plan: ReleasePlan) => {
      const r = await eachHost(rt.members, hosts, async (m) => shipRelease(await m.remote(), rt.layout, plan));
      const bad = r.find((x) => x.status === 'rejected');
      if (bad) throw (bad as PromiseRejectedResult).reason;
      return r.reduce((sum, x) => sum + (x.status === 'fulfilled' ? x.value.ms : 0), 0);
    };
    let notes: { step?: string; ms?: number }[] = [];
    const rollout = (release: number, digest: string, plan: ReleasePlan, batch: number) =>
      rollFleet({
        members: rt.members,
        layout: rt.layout,
        parallel: batch,
        maxUnavailableHosts: batch,
        to: { plan, roll: () => roll(release, digest) },
        note: (_msg, data) => notes.push((data ?? {}) as { step?: string; ms?: number }),
      });
    const rollPhases: Phases[] = [];
    let release = 0;
    for (let i = 0; i < RUNS; i++) {
      // Each run on fresh agents and an empty store: set up and the cold ship are first-time costs.
      await Promise.all(rt.members.map((m) => m.agent.call({ op: 'shutdown', stopAll: true }).catch(() => undefined)));
      const reset = 'p=$(cat /tmp/baseline/pid 2>/dev/null); [ -n "$p" ] && kill $p; rm -rf /var/lib/slipway /tmp/baseline';
      await Promise.all(fleet.hosts.map((h) => fleet.inHost(h, ['sh', '-c', reset])));
      await rt.pool.closeAll();
      await time('setup', async () => {
        await Promise.all(rt.members.map(async (m) => (await m.remote()).run(['mkdir', '-p', ...rt.layout.directories])));
        await Promise.all(rt.members.map((m) => m.agent.call({ op: 'hello' })));
      });
      const cold = await build(`v${++release}`);
      await time('shipCold', () => shipAll(cold.plan));
      await rollout(release, cold.digest, cold.plan, 5);
      const warm = await build(`v${++release}`);
      const warmShipMs = await time('shipWarm', () => shipAll(warm.plan));
      notes = [];
      await time('rollOne', () => rollout(release, warm.digest, warm.plan, 1));
      // The release was shipped just before (its own step here): add that ship's per-host time to the roll's phases.
      rollPhases.push({ ...phasesOf(notes), ship: warmShipMs });
      const next = await build(`v${++release}`);
      await time('rollout5', () => rollout(release, next.digest, next.plan, 5));
      await sh('tar', ['-czf', join(work.dir, 'src.tgz'), '-C', src, '.']);
      await time('baseline', () =>
        Promise.all(
          fleet.hosts.map((h) =>
            sh('sh', ['-c', `ssh "$@" < ${join(work.dir, 'src.tgz')}`, 'sh', ...fleet.opensshArgs(h, `sh -c '${BASELINE}' sh ${release}`)]),
          ),
        ),
      );
    }
    return { times: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])), phases: medianPhases(rollPhases) };
  } finally {
    await Promise.all(rt.members.map((m) => m.agent.call({ op: 'shutdown', stopAll: true }).catch(() => undefined)));
    await rt.close();
    await fleet.stop();
    await work.cleanup();
  }
}

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ')).join('\n');
}
