/**
 * Canary and blue-green of an image release with a secret across two real sshd hosts running
 * podman (the harness's `containers` option), with no load balancer: each host's agent runs both
 * releases side by side (its `split`), having pulled the new image by digest with the registry's
 * credentials and kept the new release's secret in its 0600 file, both sent inside the split over
 * the SSH stream. Each release has its own value of the secret, so what each host answers shows
 * the split carried the right one. Under load on every host: a canary held at a weight step, then
 * promoted, with zero failed requests; a blue-green checked on each host's preview port, promoted
 * and switched back to the warm old release, with zero failed requests; no value shows anywhere.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../../src/core/wait-for.js';
import { FleetProject } from '../support/fleet/fleet-project.js';
import { startLoad, type Load } from '../support/load.js';
import { freePort, get } from '../support/project.js';

const PASSWORD = 'split-registry-pw-3c7a';
const KEYS = ['split-secret-1-9d2e', 'split-secret-2-51af', 'split-secret-3-c08b'];
const sha = (v: string) => createHash('sha256').update(v).digest('hex');
const skip = FleetProject.skipReason({ images: { password: PASSWORD } });

describe('canary and blue-green of an image release with secrets across SSH hosts', { skip }, () => {
  let previewPort = 0;
  const p = new FleetProject({ hosts: 2, images: { password: PASSWORD } });
  const canary = `    strategy:
      canary:
        steps:
          - weight: 50
          - pause: {}`;
  const blueGreen = () => `    strategy:
      blueGreen:
        previewPort: ${previewPort}
        autoPromote: false
        scaleDownDelay: 60s`;
  /** A new image (its VERSION file) and config of release `n`, with API_KEY set to release n's value. */
  const release = async (n: number, strategy: string) => {
    writeFileSync(join(p.dir, 'web/rootfs/app/VERSION'), `v${n}\n`);
    p.writeImageConfig(`v${n}`, { secrets: ['API_KEY'], extra: strategy });
    await p.ok(['secrets', 'set', 'API_KEY', '--env', 'production'], { input: `${KEYS[n - 1]}\n` });
  };
  /** What one host answers, `n` times: "vN release=N" and the digest of the secret the answering instance has. */
  const asks = async (url: string, n = 20) =>
    Promise.all(
      Array.from({ length: n }, async () => {
        const version = (await get(url)).body.split(' ').slice(0, 2).join(' ');
        const digest = (await get(`${url}secret-digest?name=API_KEY`)).body;
        return { version, digest };
      }),
    );
  const loadAll = () => p.urls().map((u) => startLoad(u, { concurrency: 2, maxMs: 150_000 }));
  const stopAll = async (loads: Load[]) => {
    const rs = await Promise.all(loads.map((l) => l.stop()));
    return { failures: rs.flatMap((r) => r.failures), bodies: (b: string) => rs.reduce((n, r) => n + (r.bodies.get(b) ?? 0), 0) };
  };
  const secretFiles = async (h: number) =>
    (await p.fleet.inHost(h, ['sh', '-c', 'ls /var/lib/slipway/agent/secrets 2>/dev/null; true']))
      .trim()
      .split('\n')
      .filter(Boolean)
      .sort();

  before(async () => {
    await p.start();
    previewPort = await freePort();
    await release(1, canary);
    await p.ok(['secrets', 'set', 'REGISTRY_PASSWORD', '--env', 'production'], { input: `${PASSWORD}\n` });
    await p.ok(['hosts', 'setup', '--env', 'production']);
    await p.ok(['up', '--env', 'production']);
  });
  after(() => p.stop());

  it('a canary of a new image with a new secret holds at 50% on each host, each release with its own secret; promoted with zero failed requests', async () => {
    await release(2, canary);
    const loads = loadAll();
    const deploying = p.cli(['deploy', 'web', '--env', 'production', '--wait']);
    const paused = await p.waitingForPromotion(2, 120_000);
    assert.equal(paused.rollout!.weight, 50);
    for (const [i, u] of p.urls().entries()) {
      const got = await asks(u);
      // Each release answers with its own secret: release 2's value reached this host inside the split.
      const pairs = new Set(got.map((g) => `${g.version} ${g.digest}`));
      assert.ok(
        got.some((g) => g.version === 'v2 release=2') && got.some((g) => g.version === 'v1 release=1'),
        `both releases on ${p.fleet.hosts[i]!.address}`,
      );
      assert.ok(
        [...new Set(got.map((g) => g.digest))].every((d) => d === sha(KEYS[0]!) || d === sha(KEYS[1]!)),
        `${[...pairs]}`,
      );
      assert.ok(
        got.some((g) => g.digest === sha(KEYS[1]!)),
        `release 2's secret answers on ${p.fleet.hosts[i]!.address}`,
      );
      // While both run, each keeps its secret file on the host.
      assert.deepEqual(await secretFiles(i), ['web.production@1.json', 'web.production@2.json']);
    }
    // On each host: two containers of each image.
    for (const h of p.fleet.hosts) {
      const ps = await p.fleet.inHost(h, ['podman', 'ps', '--format', '{{.Image}}', '--filter', 'label=io.slipway.service']);
      assert.equal(new Set(ps.trim().split('\n')).size, 2, `${h.name}: two images side by side`);
    }

    assert.equal((await p.cli(['promote', 'web', '--env', 'production'])).code, 0);
    const res = await deploying;
    const totals = await stopAll(loads);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.deepEqual(totals.failures, []);
    assert.ok(totals.bodies('v2 release=2') > 20 && totals.bodies('v1 release=1') > 20, 'both releases served users');
    for (const u of p.urls())
      assert.deepEqual(new Set((await asks(u, 8)).map((g) => `${g.version} ${g.digest}`)), new Set([`v2 release=2 ${sha(KEYS[1]!)}`]));
    const s = await p.web();
    assert.equal(s.currentRelease, 2);
    assert.deepEqual(
      s.hosts?.map((h) => [h.release, h.serving, h.health, h.runtime]),
      p.fleet.hosts.map(() => [2, 2, 'healthy', 'podman']),
    );
    // Release 1's secret file goes once its instances are retired.
    for (const i of p.fleet.hosts.keys())
      await waitFor(
        `release 1's secret file to go on host ${i}`,
        async () => (await secretFiles(i)).join() === 'web.production@2.json',
        30_000,
        200,
      );
  });

  it('a blue-green of a new image with a new secret: previewed on each host, promoted, switched back to the warm old release with zero failed requests', async () => {
    await release(3, blueGreen());
    const loads = loadAll();
    const deploying = p.cli(['deploy', 'web', '--env', 'production', '--wait']);
    const waiting = await p.waitingForPromotion(3, 120_000);
    for (const [i, h] of p.fleet.hosts.entries()) {
      const preview = await asks(`http://${h.address}:${previewPort}/`, 6);
      assert.deepEqual(
        new Set(preview.map((g) => `${g.version} ${g.digest}`)),
        new Set([`v3 release=3 ${sha(KEYS[2]!)}`]),
        `preview on ${h.address}`,
      );
      const users = await asks(p.urls()[i]!, 6);
      assert.deepEqual(
        new Set(users.map((g) => `${g.version} ${g.digest}`)),
        new Set([`v2 release=2 ${sha(KEYS[1]!)}`]),
        `users on ${h.address}`,
      );
    }
    const oldPids = waiting.instances
      .filter((i) => i.release === 2)
      .map((i) => i.pid)
      .sort();

    assert.equal((await p.cli(['promote', 'web', '--env', 'production'])).code, 0);
    await waitFor(
      'every host to serve release 3',
      async () => (await Promise.all(p.urls().map(async (u) => (await get(u)).body))).every((b) => b.startsWith('v3 release=3 ')),
      30_000,
      50,
    );
    for (const u of p.urls()) assert.deepEqual(new Set((await asks(u, 6)).map((g) => g.digest)), new Set([sha(KEYS[2]!)]));
    await p.ok(['rollback', 'web', '--env', 'production']);
    const res = await deploying;
    const totals = await stopAll(loads);
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stderr, /rolled back \(SwitchedBack\)/);
    assert.deepEqual(totals.failures, []);
    assert.ok(totals.bodies('v3 release=3') > 20, 'release 3 served users after the switch');
    for (const u of p.urls())
      assert.deepEqual(new Set((await asks(u, 8)).map((g) => `${g.version} ${g.digest}`)), new Set([`v2 release=2 ${sha(KEYS[1]!)}`]));
    const s = await p.web();
    assert.deepEqual(s.instances.map((i) => i.pid).sort(), oldPids, 'the warm instances of release 2 serve again');
  });

  it("no event, status, log or agent log shows a secret's value or the registry password", async () => {
    const events = await p.cli(['events', '--env', 'production', '--json']);
    const statusJson = await p.cli(['status', '--env', 'production', '--json']);
    const agentLogs = await Promise.all(p.fleet.hosts.map((h) => p.fleet.inHost(h, ['cat', '/var/lib/slipway/logs/agent.log'])));
    for (const text of [events.stdout, statusJson.stdout, p.logs(), ...agentLogs])
      for (const value of [...KEYS, PASSWORD]) assert.ok(!text.includes(value), `${value} shows`);
  });
});
