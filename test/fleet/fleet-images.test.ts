/**
 * Images and secrets on a fleet of two real sshd hosts that run podman (network namespaces set up
 * by the harness's `containers` option): an `image: { build }` service with `secrets:` is built
 * here once, pushed by digest to a registry that wants credentials (running on this machine, on
 * the fleet's bridge), pulled by digest on each host with those credentials and run there in
 * containers behind each host's router. A second release rolls across the hosts under load with
 * zero failed requests; the secret's value reaches every instance, lives on the hosts only in 0600
 * files of the agent, and shows in no status, event, log or other file; the registry's password
 * is left nowhere on a host. An agent killed with one of its containers is started again by the
 * controller and restarts that container with its secret, from the host alone.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/core/wait-for.js';
import { FleetProject } from '../support/fleet/fleet-project.js';
import { startLoad } from '../support/load.js';
import { get } from '../support/project.js';

const API_KEY = 'fleet-secret-4b1d9e7c';
/** This checkout (dist/test/fleet → up three). */
const CHECKOUT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
const PASSWORD = 'fleet-registry-pw-8e2f';
const sha = (v: string) => createHash('sha256').update(v).digest('hex');
const skip = FleetProject.skipReason({ images: { password: PASSWORD } });

describe('image releases and secrets on a fleet of SSH hosts', { skip }, () => {
  const p = new FleetProject({ hosts: 2, images: { password: PASSWORD } });
  const write = (version: string) => p.writeImageConfig(version, { secrets: ['API_KEY'] });

  before(async () => {
    await p.start();
    write('v1');
  });
  after(() => p.stop());

  /** What each host's router answers for the secret, asked `n` times per host. */
  const secretDigests = async (n = 4) =>
    (
      await Promise.all(
        p.urls().map((u) => Promise.all(Array.from({ length: n }, async () => (await get(`${u}secret-digest?name=API_KEY`)).body))),
      )
    ).flat();

  it('builds once, pushes by digest, and each host pulls it with the credentials and serves it from podman containers with the secret', async () => {
    await p.ok(['secrets', 'set', 'REGISTRY_PASSWORD', '--env', 'production'], { input: `${PASSWORD}\n` });
    await p.ok(['secrets', 'set', 'API_KEY', '--env', 'production'], { input: `${API_KEY}\n` });
    await p.ok(['hosts', 'setup', '--env', 'production']);
    await p.ok(['up', '--env', 'production']);
    for (const u of p.urls()) assert.match((await get(u)).body, /^v1 release=1 /);
    assert.deepEqual(new Set(await secretDigests()), new Set([sha(API_KEY)]), 'every instance on every host has the secret');
    const web = await p.web();
    assert.equal(web.runtime?.where, 'registry');
    const ref = web.runtime!.image!;
    assert.match(ref, new RegExp(`^${p.registry!.url.replaceAll('.', '\\.')}/test/web@sha256:[a-f0-9]{64}$`));
    assert.deepEqual(
      web.hosts?.map((h) => [h.host, h.release, h.serving, h.runtime]),
      p.fleet.hosts.map((h) => [h.address, 1, 2, 'podman']),
    );
    assert.match((await p.cli(['status', '--env', 'production'])).stdout, /podman/);
    // On each host: two containers of that very digest.
    for (const h of p.fleet.hosts) {
      const ps = await p.fleet.inHost(h, ['podman', 'ps', '--format', '{{.Image}}', '--filter', 'label=io.slipway.service']);
      assert.deepEqual(ps.trim().split('\n'), [ref, ref], h.name);
    }
  });

  it('rolls a new image release across the hosts under load with zero failed requests', async (t) => {
    write('v2');
    writeFileSync(join(p.dir, 'web/rootfs/app/VERSION'), 'v2\n'); // a new image, not only a new env
    const loads = p.urls().map((u) => startLoad(u, { concurrency: 2, maxMs: 120_000 }));
    const deploy = await p.cli(['deploy', 'web', '--env', 'production', '--wait']);
    const results = await Promise.all(loads.map((l) => l.stop()));
    assert.equal(deploy.code, 0, deploy.stderr + deploy.stdout);
    results.forEach((r, i) => {
      assert.deepEqual(r.failures, [], `host ${p.fleet.hosts[i]!.address}`);
      assert.ok(r.ok > 20, `only ${r.ok} requests to ${p.fleet.hosts[i]!.address} succeeded`);
      assert.ok(r.bodies.has('v1 release=1') && r.bodies.has('v2 release=2'), `both releases answered on ${p.fleet.hosts[i]!.address}`);
    });
    const web = await p.web();
    assert.deepEqual(
      web.hosts?.map((h) => [h.release, h.serving, h.health, h.runtime]),
      p.fleet.hosts.map(() => [2, 2, 'healthy', 'podman']),
    );
    assert.deepEqual(new Set(await secretDigests()), new Set([sha(API_KEY)]));
    // Each host's roll (pull by digest, start, health, switch, drain) as its agent timed it: a number for the notes, not a pass/fail.
    const events = JSON.parse((await p.cli(['events', 'web', '--env', 'production', '--json'])).stdout) as {
      events: { type: string; data?: { step?: string; host?: string; ms?: number } }[];
    };
    const rolls = events.events.filter((e) => e.type === 'p.fleet.progress' && e.data?.step === 'roll').slice(-p.fleet.hosts.length);
    t.diagnostic(`image roll per host (ms): ${rolls.map((e) => `${e.data!.host} ${e.data!.ms}`).join(', ')}`);
  });

  it('the secret lives on a host only in 0600 files of the agent; no status, event, log or other file shows it or the registry password', async () => {
    const events = await p.cli(['events', '--env', 'production', '--json']);
    const statusJson = await p.cli(['status', '--env', 'production', '--json']);
    for (const text of [events.stdout, statusJson.stdout, p.logs()]) {
      assert.doesNotMatch(text, new RegExp(API_KEY));
      assert.doesNotMatch(text, new RegExp(PASSWORD));
    }
    for (const h of p.fleet.hosts) {
      // Files on the host that hold a value (the harness's own side directory, also below /tmp, is the machine's view of it: left out).
      const holding = async (what: string) =>
        (
          await p.fleet.inHost(h, [
            'sh',
            '-c',
            `grep -rlF "$1" /var/lib/slipway /tmp /run /etc --exclude-dir="$2" 2>/dev/null; true`,
            'sh',
            what,
            p.fleet.dir.split('/').pop()!,
          ])
        )
          .trim()
          .split('\n')
          // This checkout holds the values as literals in its tests (it sits below /tmp in a CI clone).
          .filter((f) => f !== '' && !f.startsWith(`${CHECKOUT}/`));
      assert.deepEqual(
        await holding(API_KEY),
        ['/var/lib/slipway/agent/secrets/web.production@2.json'],
        `${h.name}: only the serving release's secret file`,
      );
      assert.deepEqual(await holding(PASSWORD), [], `${h.name}: the registry password is left nowhere`);
      // No file of the host that holds the secret (podman's storage keeps a container's environment too) can be read by another user.
      const readable = await p.fleet.inHost(h, [
        'sh',
        '-c',
        `grep -rlF "$1" /var/lib/slipway "$2" 2>/dev/null | while read -r f; do setpriv --reuid=65534 --regid=65534 --clear-groups cat "$f" >/dev/null 2>&1 && echo "$f"; done; true`,
        'sh',
        API_KEY,
        join(h.dir, 'containers'),
      ]);
      assert.equal(readable.trim(), '', `${h.name}: readable by others`);
      assert.doesNotMatch(await p.fleet.inHost(h, ['cat', '/var/lib/slipway/logs/agent.log']), new RegExp(API_KEY));
    }
  });

  it('an agent killed with one of its containers: the controller starts it again, and it restarts the container with its secret from the host', async () => {
    const host = p.fleet.hosts[1]!;
    const agentPid = (await p.fleet.inHost(1, ['cat', '/var/lib/slipway/run/agent.pid'])).split(' ')[0]!;
    const victim = (await p.web()).instances.find((i) => i.host === host.address)!;
    await p.fleet.inHost(1, ['kill', '-KILL', agentPid]);
    await p.fleet.inHost(1, ['kill', '-KILL', String(victim.pid)]);
    await waitFor(
      'the container to be gone',
      async () => !(await p.fleet.inHost(1, ['ls', '/proc'])).split('\n').includes(String(victim.pid)),
      10_000,
    );
    const back = await waitFor(
      'the host followed again with the killed instance restarted',
      async () => {
        const web = await p.web();
        const mine = web.instances.filter((i) => i.host === host.address);
        const again = mine.find((i) => i.id === victim.id);
        return web.hosts?.[1]?.reachable === true && again?.state === 'running' && again.restarts >= 1 && again.pid !== victim.pid && again;
      },
      60_000,
      250,
    ).catch(async (err: Error) => {
      const log = await p.fleet.inHost(1, ['tail', '-n', '30', '/var/lib/slipway/logs/agent.log']).catch((e: Error) => e.message);
      const recs = await p.fleet
        .inHost(1, ['cat', '/var/lib/slipway/agent/driver/containers/instances.json'])
        .catch((e: Error) => e.message);
      const ps = await p.fleet.inHost(1, ['podman', 'ps', '-a', '--format', '{{.Names}} {{.Status}}']).catch((e: Error) => e.message);
      const web = await p.web();
      throw new Error(
        `${err.message}\nagent log:\n${log}\nrecords: ${recs}\npodman ps: ${ps}\ninstances: ${JSON.stringify(web.instances.filter((i) => i.host === host.address))}`,
      );
    });
    assert.equal(back.release, 2);
    const digests = await Promise.all(Array.from({ length: 6 }, async () => (await get(`${p.urls()[1]!}secret-digest?name=API_KEY`)).body));
    assert.deepEqual(new Set(digests), new Set([sha(API_KEY)]));
  });

  it('a host that crashes and boots serves again with its secret: its agent restarts the recorded containers from the host alone', async () => {
    await p.fleet.crash(1);
    await p.fleet.boot(1);
    // The controller's next question starts the agent; it restarts what it recorded, secrets from its 0600 file.
    await waitFor(
      'the booted host to serve release 2 with both instances',
      async () => {
        const h = (await p.web()).hosts?.[1];
        if (!(h?.reachable === true && h.release === 2 && h.serving === 2 && h.runtime === 'podman')) return false;
        // The router comes back with its saved route at once; the containers behind it take longer.
        const answers = await Promise.all(
          Array.from({ length: 4 }, async () => (await get(`${p.urls()[1]!}secret-digest?name=API_KEY`).catch(() => ({ body: '' }))).body),
        );
        return answers.every((a) => a === sha(API_KEY));
      },
      90_000,
      500,
    );
    const digests = await Promise.all(Array.from({ length: 6 }, async () => (await get(`${p.urls()[1]!}secret-digest?name=API_KEY`)).body));
    assert.deepEqual(new Set(digests), new Set([sha(API_KEY)]));
  });
});
