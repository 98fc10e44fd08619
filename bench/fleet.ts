/**
 * Fleet rollout benchmark (issue 8): time to roll a small process release (the test fixture app,
 * 2 instances per host) out to the 3 hosts of a test fleet (network namespaces with sshd,
 * test/support/fleet) through the host agents (ADR 0026): the release shipped to every host, then
 * hosts rolled in batches (each: new instances started beside the old, health-gated, the host's
 * router switched, the old drained and stopped). Rows: the first rollout (agents started, nothing
 * serving yet), a new release one host at a time (parallel 1), and one two hosts at a time.
 * The share columns are the time spent shipping and rolling (per host, the slowest host's roll).
 *
 * Needs root (the fleet); skipped otherwise. Run: `npm run bench -- fleet`.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ArtifactStore } from '../src/artifact/artifact-store.js';
import { tempDir } from '../src/artifact/artifact-testing.js';
import { buildArtifact } from '../src/artifact/build.js';
import type { SshTargetConfig } from '../src/config/schema.js';
import { silentLogger } from '../src/core/logger.js';
import { DEFAULT_RESTART_POLICY } from '../src/drivers/driver.js';
import type { RollRequest } from '../src/fleet/agent/protocol.js';
import { rollFleet } from '../src/fleet/fleet-rollout.js';
import { FleetRuntime } from '../src/fleet/fleet-runtime.js';
import { planRelease, type ReleasePlan } from '../src/fleet/ship.js';
import { Fleet } from '../test/support/fleet/fleet.js';

const FIXTURE = resolve(fileURLToPath(new URL('../..', import.meta.url)), 'test/fixtures/app/server.js');

export async function run(): Promise<void> {
  const skip = Fleet.skipReason();
  if (skip) {
    console.log(`fleet: skipped (${skip})`);
    return;
  }
  const work = await tempDir('slipway-bench-fleet-');
  const fleet = await Fleet.start({ hosts: 3 });
  const known = join(work.dir, 'known_hosts');
  await writeFile(known, fleet.knownHosts());
  const ssh = { user: 'root', root: '/var/lib/slipway', parallel: 1, maxUnavailableHosts: 1 } as SshTargetConfig;
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
      deadlineMs: 30_000,
      stopTimeoutMs: 5000,
      idSuffix: '',
    });
    const rows: string[][] = [];
    const rollout = async (what: string, release: number, parallel: number, maxUnavailableHosts: number) => {
      const { plan, digest } = await build(`v${release}`);
      let shipMs = 0;
      const rollMs: number[] = [];
      const t0 = performance.now();
      await rollFleet({
        members: rt.members,
        layout: rt.layout,
        parallel,
        maxUnavailableHosts,
        to: { plan, roll: () => roll(release, digest) },
        note: (_m, d) => {
          if (d.step === 'ship') shipMs = Math.max(shipMs, Number(d.ms));
          if (d.step === 'roll') rollMs.push(Number(d.ms));
        },
      });
      const ms = performance.now() - t0;
      rows.push([what, `${(ms / 1000).toFixed(2)} s`, `${(shipMs / 1000).toFixed(2)} s`, `${(Math.max(...rollMs) / 1000).toFixed(2)} s`]);
    };
    await rollout('first rollout (agents start, parallel 3)', 1, 3, 2);
    await rollout('new release, one host at a time (parallel 1)', 2, 1, 1);
    await rollout('new release, two hosts at a time (parallel 3, maxUnavailableHosts 2)', 3, 3, 2);
    console.log(`roll a release out to 3 hosts, 2 instances each (load average ${loadavg()[0]!.toFixed(1)})`);
    console.log(table([['rollout', 'total', 'ship (slowest host)', 'roll (slowest host)'], ...rows]));
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
