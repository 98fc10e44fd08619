/**
 * Image releases on a fleet (issue 8): the fixture app built once as an image, pushed by digest to
 * a registry on the fleet's bridge (as test/fleet/fleet-images.test.ts does, without credentials),
 * pulled by digest on each of 3 hosts running podman, and rolled one host at a time by the real
 * CLI (`slipway deploy --wait`). Per run: the time of the whole deploy (build + push + per host
 * pull, start, health, switch, drain) and where the hosts' time went, from the rollout's events.
 * Needs root, podman and docker-registry; skipped otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ControllerClient } from '../src/client/client.js';
import { waitFor } from '../src/core/wait-for.js';
import { FIXTURE } from '../test/containers/image-project.js';
import { Fleet } from '../test/support/fleet/fleet.js';
import { podmanScratch, podmanSkipReason } from '../test/support/podman-scratch.js';
import { freePort, get, TestProject } from '../test/support/project.js';
import { median, medianPhases, phasesOf, type Phases } from './fleet-phases.js';

export interface ImageResult {
  hosts: number;
  /** Median whole `deploy --wait` of a new image release, ms. */
  deployMs: number;
  /** Median per-host roll as the agents timed it, ms. */
  hostRollMs: number;
  phases: Phases;
  runs: number;
}

export function imageSkipReason(): string | undefined {
  return Fleet.skipReason() ?? podmanSkipReason() ?? (existsSync('/usr/bin/docker-registry') ? undefined : 'needs docker-registry');
}

export async function measureImages(hosts: number, runs: number): Promise<ImageResult> {
  const fleet = await Fleet.start({ hosts, containers: true });
  const scratch = podmanScratch();
  const p = new TestProject();
  let registry: ChildProcess | undefined;
  const env = () => ({ ...scratch.env, XDG_CONFIG_HOME: join(p.dir, 'user-config') });
  const cli = (args: string[]) => p.cli(args, { env: env(), timeoutMs: 300_000 });
  try {
    writeFileSync(join(p.dir, 'known_hosts'), fleet.knownHosts());
    const regDir = join(scratch.dir, 'registry');
    mkdirSync(join(regDir, 'data'), { recursive: true });
    const regUrl = `${fleet.gateway}:${await freePort()}`;
    writeFileSync(
      join(regDir, 'config.yml'),
      `version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: ${regDir}/data}}\nhttp: {addr: "${regUrl}", secret: bench-only}\n`,
    );
    registry = spawn('docker-registry', ['serve', join(regDir, 'config.yml')], { stdio: 'ignore' });
    await waitFor('the registry', async () => (await get(`http://${regUrl}/v2/`).catch(() => ({ status: 0 }))).status === 200, 10_000);
    p.port = await freePort();
    scratch.writeContext(join(p.dir, 'web'), { '/app/server.js': readFileSync(FIXTURE, 'utf8') });
    const write = (version: string) => {
      writeFileSync(
        join(p.dir, 'slipway.yaml'),
        `app: bench
services:
  web:
    image: { build: ./web }
    instances: 2
    port: ${p.port}
    env:
      VERSION: "${version}"
    health: { path: /healthz, interval: 200ms, timeout: 1s, healthyAfter: 1, unhealthyAfter: 2 }
    stopTimeout: 5s
registry: { url: "${regUrl}", insecure: true }
environments:
  production:
${fleet.sshTargetYaml()}`,
      );
      // A new image each release, not only a new env.
      writeFileSync(join(p.dir, 'web/rootfs/app/VERSION'), `${version}\n`);
    };
    const must = async (args: string[]) => {
      const r = await cli(args);
      if (r.code !== 0) throw new Error(`slipway ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    };
    write('v1');
    await must(['hosts', 'setup', '--env', 'production']);
    await must(['up', '--env', 'production']);
    // The progress events recorded since the last call, from the controller's API (pages of 200).
    let after = 0;
    const progress = async () => {
      const out: { step?: string; ms?: number }[] = [];
      for (let page = 0; page < 100; page++) {
        const got = (await ControllerClient.connect(p.dir, 'production').events({ service: 'web', after })).events;
        if (!got.length) break;
        out.push(...got.filter((e) => e.type === 'fleet.progress').map((e) => e.data as { step?: string; ms?: number }));
        after = got.at(-1)!.id;
      }
      return out;
    };
    const deploys: number[] = [];
    const rolls: number[] = [];
    const phases: Phases[] = [];
    for (let i = 0; i < runs; i++) {
      write(`v${i + 2}`);
      await progress();
      const t0 = performance.now();
      await must(['deploy', 'web', '--env', 'production', '--wait']);
      deploys.push(performance.now() - t0);
      const mine = await progress();
      rolls.push(median(mine.filter((e) => e.step === 'roll').map((e) => e.ms ?? 0)));
      phases.push(phasesOf(mine));
    }
    return { hosts, deployMs: median(deploys), hostRollMs: median(rolls), phases: medianPhases(phases), runs };
  } finally {
    await cli(['down', '--env', 'production']).catch(() => undefined);
    await p.cleanup();
    await fleet.stop();
    if (registry?.pid) registry.kill('SIGTERM');
    scratch.teardown();
  }
}
