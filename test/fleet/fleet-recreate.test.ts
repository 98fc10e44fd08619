/**
 * `strategy: recreate` across a fleet of three real sshd hosts (network namespaces), rolled three
 * hosts at once (`parallel: 3`): the service is stopped on every host before the new release
 * starts on any. A watcher on this machine samples, every 25 ms while a deploy runs, what really
 * runs (every process of the fleet's instances, read from /proc: the hosts' PID namespaces are
 * below this machine's), each host's instances.json and each host router's routes.json, and the
 * tests assert that no sample ever shows two releases on the fleet or two releases routed on a
 * host, and that there was a moment with nothing running (the downtime recreate means). A release
 * that crash-loops on one host fails the rollout naming that host, and the previous release is
 * recreated on every host; `slipway rollback` recreates the previous release the same way. Behind
 * HAProxy, every host leaves it before anything stops and rejoins serving the new release.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FleetProject } from '../support/fleet/fleet-project.js';
import type { Fleet } from '../support/fleet/fleet.js';
import { startLoad } from '../support/load.js';
import { get } from '../support/project.js';

const UNIT = 'web.production';

interface Sample {
  at: number;
  /** Releases of the unit's processes alive on the fleet (any host). */
  running: number[];
  /** Per host: releases in its instances.json, and releases its router routes to. */
  files: { host: string; recorded: number[]; routed: number[] }[];
}

/** Samples the fleet until stopped (at most 3 minutes, 7 200 samples). */
function watchFleet(fleet: Fleet) {
  const samples: Sample[] = [];
  const suffixes = fleet.hosts.map((h) => `-on-${h.address}`);
  let stopped = false;
  const t0 = Date.now();
  const readJson = <T>(path: string): T | undefined => {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as T;
    } catch {
      return undefined; // not written yet
    }
  };
  const running = (): number[] => {
    const releases = new Set<number>();
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let env: string;
      try {
        env = readFileSync(`/proc/${pid}/environ`, 'latin1');
      } catch {
        continue; // gone meanwhile
      }
      const id = /(?:^|\0)SLIPWAY_INSTANCE=([^\0]*)/.exec(env)?.[1];
      const release = /(?:^|\0)SLIPWAY_RELEASE=(\d+)/.exec(env)?.[1];
      if (id?.startsWith(`${UNIT}-`) && suffixes.some((s) => id.endsWith(s)) && release) releases.add(Number(release));
    }
    return [...releases].sort();
  };
  const done = (async () => {
    while (!stopped && samples.length < 7200 && Date.now() - t0 < 180_000) {
      const files = fleet.hosts.map((h) => {
        const root = join(h.dir, 'upper/var/lib/slipway/agent');
        const recs = readJson<{ instances: { spec: { service: string; release: number } }[] }>(join(root, 'driver/instances.json'));
        const routes = readJson<{ routes: { service: string; pools: { release: number; backends: unknown[] }[] }[] }>(
          join(root, 'router/routes.json'),
        );
        const recorded = new Set(recs?.instances.filter((i) => i.spec.service === UNIT).map((i) => i.spec.release) ?? []);
        const route = routes?.routes.find((r) => r.service === UNIT);
        const routed = new Set(route?.pools.filter((p) => p.backends.length > 0).map((p) => p.release) ?? []);
        return { host: h.address, recorded: [...recorded].sort(), routed: [...routed].sort() };
      });
      samples.push({ at: Date.now() - t0, running: running(), files });
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return {
    async stop(): Promise<Sample[]> {
      stopped = true;
      await done;
      return samples;
    },
  };
}

/** slipway.yaml as written, with every host of the fleet rolled at once (`parallel: n`, the fixture's is 1). */
function rollAtOnce(p: FleetProject, n: number): void {
  const file = join(p.dir, 'slipway.yaml');
  const yaml = readFileSync(file, 'utf8');
  if (!yaml.includes('        parallel: 1\n')) throw new Error('slipway.yaml has no `parallel: 1` to change');
  writeFileSync(file, yaml.replace('        parallel: 1\n', `        parallel: ${n}\n`));
}

/** Every way a sample can break recreate's promise, with the sample's time; empty when none did. */
function overlaps(samples: Sample[]): string[] {
  const bad: string[] = [];
  for (const s of samples) {
    if (s.running.length > 1) bad.push(`${s.at} ms: releases ${s.running.join(' and ')} running on the fleet`);
    const recorded = new Set(s.files.flatMap((f) => f.recorded));
    if (recorded.size > 1) bad.push(`${s.at} ms: instances.json files record releases ${[...recorded].join(' and ')}`);
    for (const f of s.files) if (f.routed.length > 1) bad.push(`${s.at} ms: ${f.host} routes to releases ${f.routed.join(' and ')}`);
  }
  return bad;
}

describe('strategy recreate across a fleet of SSH hosts', { skip: FleetProject.skipReason() }, () => {
  const p = new FleetProject({ hosts: 3 });
  // `CRASH_ON`: the host (its hostname, h1…h3) where the release exits at once, a crash loop there only.
  const write = async (env: Record<string, string>) => {
    await p.writeConfig({
      env,
      start: `sh -c 'test "$(hostname)" = "$CRASH_ON" && echo "cannot start on $CRASH_ON" && exit 3; exec node server.js'`,
      extra: '    strategy: recreate',
    });
    rollAtOnce(p, 3);
  };

  before(async () => {
    await p.startServing(() => write({ VERSION: 'v1', CRASH_ON: 'none' }));
    assert.deepEqual(await p.answers(), ['v1 release=1', 'v1 release=1', 'v1 release=1']);
  });
  after(() => p.stop());

  it('stops the old release on every host before the new one starts on any: never two releases at once, downtime by design', async () => {
    await write({ VERSION: 'v2', CRASH_ON: 'none' });
    const watch = watchFleet(p.fleet);
    const deploy = await p.cli(['deploy', 'web', '--env', 'production', '--wait'], { timeoutMs: 120_000 });
    const samples = await watch.stop();
    assert.equal(deploy.code, 0, deploy.stderr + deploy.stdout);
    assert.deepEqual(overlaps(samples), []);
    // The watcher saw both releases run, and a moment between them with nothing running anywhere.
    const first2 = samples.findIndex((s) => s.running.includes(2));
    const last1 = samples.findLastIndex((s) => s.running.includes(1));
    assert.ok(last1 >= 0 && first2 > last1, `release 1 last seen at sample ${last1}, release 2 first at ${first2}`);
    assert.ok(
      samples.slice(last1 + 1, first2).some((s) => s.running.length === 0),
      'a sample with nothing running between the releases',
    );
    assert.deepEqual(await p.answers(), ['v2 release=2', 'v2 release=2', 'v2 release=2']);
    const s = await p.web();
    assert.equal(s.currentRelease, 2);
    assert.match(
      s.rollout!.message ?? '',
      /recreate: stopped on every host first, so the service was down up to [\d.]+s on a host, by design/,
    );
    assert.deepEqual(
      s.hosts?.map((h) => [h.release, h.serving, h.health]),
      p.fleet.hosts.map(() => [2, 2, 'healthy']),
    );
    console.log(
      `# fleet recreate: ${samples.length} samples; nothing ran for ${samples[first2]!.at - samples[last1]!.at} ms (between samples ${last1} and ${first2}); ${s.rollout!.message}`,
    );
  });

  it('a release crash-looping on one host fails the rollout naming it; the previous release is recreated on every host', async () => {
    await write({ VERSION: 'v3', CRASH_ON: 'h2' });
    const watch = watchFleet(p.fleet);
    const deploy = await p.cli(['deploy', 'web', '--env', 'production', '--wait'], { timeoutMs: 120_000 });
    const samples = await watch.stop();
    assert.equal(deploy.code, 1, deploy.stderr + deploy.stdout);
    const h2 = p.fleet.hosts[1]!.address.replaceAll('.', '\\.');
    assert.match(deploy.stderr, new RegExp(`host ${h2} failed while starting release 3 \\(recreate\\): FLEET_ROLL_FAILED`));
    assert.match(deploy.stderr, /cannot start on h2/, 'the host says why');
    assert.deepEqual(overlaps(samples), []);
    assert.ok(
      samples.some((s) => s.running.includes(3)),
      'release 3 ran (on h1 and h3) before it was stopped everywhere',
    );
    assert.deepEqual(await p.answers(), ['v2 release=2', 'v2 release=2', 'v2 release=2']);
    const s = await p.web();
    assert.equal(s.currentRelease, 2);
    assert.equal(s.rollout!.phase, 'Failed');
    assert.deepEqual(
      s.hosts?.map((h) => [h.release, h.serving, h.health]),
      p.fleet.hosts.map(() => [2, 2, 'healthy']),
    );
    assert.ok(s.instances.every((i) => i.release === 2) && s.instances.length === 6, JSON.stringify(s.instances));
  });

  it('slipway rollback recreates the previous release on every host, never beside the current one', async () => {
    const watch = watchFleet(p.fleet);
    const rollback = await p.cli(['rollback', 'web', '--env', 'production', '--wait'], { timeoutMs: 120_000 });
    const samples = await watch.stop();
    assert.equal(rollback.code, 0, rollback.stderr + rollback.stdout);
    assert.deepEqual(overlaps(samples), []);
    assert.deepEqual(await p.answers(), ['v1 release=1', 'v1 release=1', 'v1 release=1']);
    const s = await p.web();
    assert.equal(s.currentRelease, 1);
    assert.deepEqual(
      s.hosts?.map((h) => [h.release, h.serving, h.health]),
      p.fleet.hosts.map(() => [1, 2, 'healthy']),
    );
  });
});

describe('strategy recreate across a fleet behind HAProxy', { skip: FleetProject.skipReason({ haproxy: true }) }, () => {
  const p = new FleetProject({ hosts: 2 });
  const write = async (version: string) => {
    await p.writeConfig({ env: { VERSION: version }, extra: '    strategy: recreate', haproxy: true });
    rollAtOnce(p, 2);
  };

  before(async () => {
    await p.start();
    await write('v1');
    await p.ok(['up', '--env', 'production']);
  });
  after(() => p.stop());

  it('never two releases behind HAProxy; every host rejoins it serving the new release', async () => {
    assert.match((await get(p.url)).body, /^v1 release=1 /);
    await write('v2');
    const watch = watchFleet(p.fleet);
    const load = startLoad(p.url, { concurrency: 2, maxMs: 60_000 });
    const deploy = await p.cli(['deploy', 'web', '--env', 'production', '--wait'], { timeoutMs: 120_000 });
    const result = await load.stop();
    const samples = await watch.stop();
    assert.equal(deploy.code, 0, deploy.stderr + deploy.stdout);
    assert.deepEqual(overlaps(samples), []);
    assert.ok(result.bodies.has('v1 release=1') && result.bodies.has('v2 release=2'), 'both releases answered, one after the other');
    const web = await p.web();
    assert.deepEqual(
      web.traffic.filter((t) => t.backends > 0).map((t) => [t.release, t.backends, t.share]),
      [[2, 2, 1]],
      'both hosts are HAProxy servers of release 2',
    );
    assert.match((await get(p.url)).body, /^v2 release=2 /);
    console.log(
      `# fleet recreate behind HAProxy: ${result.ok} requests answered, ${result.failed} failed during the deploy (downtime by design)`,
    );
  });
});
