/**
 * The store GC on a real SSH host (fleet/host-gc.ts): old releases and the stored contents only
 * they used go; a release a process runs from is never removed, nor the most recent ones; a ship
 * in flight puts the sweep of `files/` off, and ships racing GCs all end with complete releases.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir, writeTree } from '../../src/artifact/artifact-testing.js';
import { ArtifactStore } from '../../src/artifact/artifact-store.js';
import { buildArtifact } from '../../src/artifact/build.js';
import { gcHost } from '../../src/fleet/host-gc.js';
import { HostLayout } from '../../src/fleet/host-layout.js';
import { planRelease, shipRelease, type ReleasePlan } from '../../src/fleet/ship.js';
import { SshPool } from '../../src/ssh/pool.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-host.js';
import type { RemoteHost } from '../../src/ssh/transport.js';
import { Fleet } from '../support/fleet/fleet.js';

describe('the store GC on a host', { skip: Fleet.skipReason() }, () => {
  let fleet: Fleet;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let store: ArtifactStore;
  let host: RemoteHost;
  const pool = new SshPool(new Ssh2Transport());
  const layout = new HostLayout('/srv/slipway');
  const hex = (p: ReleasePlan) => p.digest.replace(/^sha256:/, '');

  /** A release sharing `common.js` with every other, with one content of its own. */
  async function release(n: number): Promise<ReleasePlan> {
    const src = join(work.dir, `src${n}`);
    await writeTree(src, { 'common.js': 'module.exports = "shared"\n', 'own.txt': `release ${n}\n`.repeat(50) });
    const r = await buildArtifact({ sourceDir: src, workRoot: join(work.dir, 'work'), store });
    return planRelease(store.indexed(r.digest)!.archive, store.indexed(r.digest)!.index);
  }
  const releasesOnHost = async () => (await host.run(['ls', layout.releases])).stdout.split('\n').filter(Boolean).sort();
  /** Every file of the release on the host has the content its plan says. */
  async function intact(p: ReleasePlan): Promise<boolean> {
    const sums = await host.run(
      ['sh', '-c', 'cd "$1" && find . -type f -printf "%P\\0" | xargs -0 -r sha256sum --', 'sh', layout.release(p.digest)],
      {
        check: false,
      },
    );
    const got = new Map(
      sums.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(66), l.slice(0, 64)]),
    );
    return sums.code === 0 && p.entries.filter((e) => e.type === 'file').every((e) => got.get(e.rel) === e.hex);
  }

  before(async () => {
    fleet = await Fleet.start({ hosts: 1 });
    work = await tempDir('slipway-gc-');
    store = new ArtifactStore(join(work.dir, 'store'));
    const known = join(work.dir, 'known_hosts');
    await writeFile(known, fleet.knownHosts());
    const h = fleet.hosts[0]!;
    host = await pool.get({ host: h.address, port: 22, user: 'root', identityFile: fleet.keyFile, knownHosts: known });
    await host.run(['mkdir', '-p', ...layout.directories]);
  });
  after(async () => {
    await pool.closeAll();
    await fleet?.stop();
    await work?.cleanup();
  });

  it('removes old releases and their contents, never the one a process runs from nor the most recent', async () => {
    const [v1, v2, v3, v4] = [await release(1), await release(2), await release(3), await release(4)];
    for (const p of [v1, v2, v3, v4]) await shipRelease(host, layout, p);
    // A process runs from release 1 (an instance's working directory is its release).
    await host.run(['sh', '-c', 'cd "$1" && setsid sleep 300 </dev/null >/dev/null 2>&1 &', 'sh', layout.release(v1.digest)]);
    const files = async () => Number((await host.run(['sh', '-c', `find ${layout.files} -type f | wc -l`])).stdout.trim());
    assert.equal(await files(), 5, 'one shared content and one of each release');

    const r = await gcHost(host, layout, { keepRecent: 1 });
    assert.deepEqual(r.removed.sort(), [hex(v2), hex(v3)].sort());
    assert.deepEqual(
      r.kept.map((k) => [k.digest, k.inUse]).sort(),
      [
        [hex(v1), true],
        [hex(v4), false],
      ].sort(),
    );
    assert.equal(r.filesRemoved, 2, 'the contents only releases 2 and 3 had');
    assert.deepEqual(await releasesOnHost(), [hex(v1), hex(v4)].sort());
    assert.ok((await intact(v1)) && (await intact(v4)), 'the kept releases are whole');
    // The controller's own list keeps a release too.
    await shipRelease(host, layout, v2);
    const again = await gcHost(host, layout, { keepRecent: 1, keep: [v4.digest] });
    assert.deepEqual(again.removed, [], 'release 2 is the most recent, 4 is kept by name, 1 runs');
    // The agent's bundle is kept while install.json names it, and so is a release a process names
    // on its command line (the agent, router and log writers run the bundle's files).
    await host.run([
      'sh',
      '-c',
      'mkdir -p "$1/agent" && printf \'{"agent":"%s","node":"/usr/bin/node"}\' "$2" > "$1/agent/install.json"',
      'sh',
      layout.root,
      v4.digest,
    ]);
    const named = (
      await host.run([
        'sh',
        '-c',
        'setsid sh -c "sleep 300" "$1" </dev/null >/dev/null 2>&1 & echo $!',
        'sh',
        `${layout.release(v2.digest)}/common.js`,
      ])
    ).stdout.trim();
    await shipRelease(host, layout, v3);
    const third = await gcHost(host, layout, { keepRecent: 1 });
    assert.deepEqual(third.removed, [], 'release 3 is the most recent, 4 the agent bundle, 2 named by a process, 1 its cwd');
    assert.deepEqual(
      third.kept
        .filter((k) => k.inUse)
        .map((k) => k.digest)
        .sort(),
      [hex(v1), hex(v2), hex(v4)].sort(),
    );
    await host.run(['kill', named]);
    await host.run(['rm', `${layout.root}/agent/install.json`]);
  });

  it('puts the sweep off while a ship is in flight; ships racing GCs all end complete', async () => {
    await host.run(['mkdir', '-p', `${layout.tmp}/ship-inflight/r`]);
    const off = await gcHost(host, layout, { keepRecent: 1 });
    assert.equal(off.filesRemoved, null);
    await host.run(['rm', '-rf', `${layout.tmp}/ship-inflight`]);

    for (let n = 10; n < 16; n++) {
      const p = await release(n);
      // keepRecent 1: each GC removes the previous round's release, whose contents the ship may be asking about.
      const [shipped, gc] = await Promise.allSettled([shipRelease(host, layout, p), gcHost(host, layout, { keepRecent: 1 })]);
      assert.equal(shipped.status, 'fulfilled', `ship ${n}: ${shipped.status === 'rejected' ? String(shipped.reason) : ''}`);
      assert.equal(gc.status, 'fulfilled', `gc ${n}: ${gc.status === 'rejected' ? String(gc.reason) : ''}`);
      assert.ok(await intact(p), `release ${n} is whole on the host`);
    }
    const last = await gcHost(host, layout, { keepRecent: 1 });
    assert.equal(typeof last.filesRemoved, 'number');
    assert.ok((await releasesOnHost()).length <= 2, 'the newest and the one in use');
  });
});
