/**
 * Image releases on a fleet (issue 8), set up as the fleet tests are (test/support/fleet/fleet-project.ts):
 * the fixture app built once as an image, pushed by digest to an open registry on the fleet's
 * bridge, pulled by digest on each of 3 hosts running podman, and rolled one host at a time by the real
 * CLI (`slipway deploy --wait`). Per run: the time of the whole deploy (build + push + per host
 * pull, start, health, switch, drain) and where the hosts' time went, from the rollout's events.
 * Needs root, podman and docker-registry; skipped otherwise.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ControllerClient } from '../src/client/client.js';
import { FleetProject } from '../test/support/fleet/fleet-project.js';
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
  return FleetProject.skipReason({ images: {} });
}

export async function measureImages(hosts: number, runs: number): Promise<ImageResult> {
  const p = new FleetProject({ hosts, images: {}, timeoutMs: 300_000 });
  try {
    await p.start();
    const write = (version: string) => {
      p.writeImageConfig(version);
      // A new image each release, not only a new env.
      writeFileSync(join(p.dir, 'web/rootfs/app/VERSION'), `${version}\n`);
    };
    write('v1');
    await p.ok(['hosts', 'setup', '--env', 'production']);
    await p.ok(['up', '--env', 'production']);
    // The progress events recorded since the last call, from the controller's API.
    let after = 0;
    const progress = async () => {
      const got = await ControllerClient.connect(p.dir, 'production').eventsAfter({ service: 'web', after });
      after = got.at(-1)?.id ?? after;
      return got.filter((e) => e.type === 'fleet.progress').map((e) => e.data as { step?: string; ms?: number });
    };
    const deploys: number[] = [];
    const rolls: number[] = [];
    const phases: Phases[] = [];
    for (let i = 0; i < runs; i++) {
      write(`v${i + 2}`);
      await progress();
      const t0 = performance.now();
      await p.ok(['deploy', 'web', '--env', 'production', '--wait']);
      deploys.push(performance.now() - t0);
      const mine = await progress();
      rolls.push(median(mine.filter((e) => e.step === 'roll').map((e) => e.ms ?? 0)));
      phases.push(phasesOf(mine));
    }
    return { hosts, deployMs: median(deploys), hostRollMs: median(rolls), phases: medianPhases(phases), runs };
  } finally {
    await p.stop();
  }
}
