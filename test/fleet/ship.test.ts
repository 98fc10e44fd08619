/**
 * Shipping a process release to real SSH hosts: the tree assembled on each host is the one a local
 * extraction gives; a host that has the release gets nothing; a one-file change sends one file; a
 * store entry damaged on a host fails verification and leaves no release; unsafe entries are
 * refused before anything is sent.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ArchiveIndex } from '../../src/artifact/archive-index.js';
import { tempDir, writeTree } from '../../src/artifact/artifact-testing.js';
import { ArtifactStore } from '../../src/artifact/artifact-store.js';
import { buildArtifact } from '../../src/artifact/build.js';
import { SlipwayError } from '../../src/core/errors.js';
import { HostLayout } from '../../src/fleet/host-layout.js';
import { planRelease, shipRelease, type ReleasePlan } from '../../src/fleet/ship.js';
import { SshPool } from '../../src/ssh/pool.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-host.js';
import type { RemoteHost, SshTarget } from '../../src/ssh/transport.js';
import { Fleet } from '../support/fleet/fleet.js';

describe('shipping a release to hosts', { skip: Fleet.skipReason() }, () => {
  let fleet: Fleet;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let store: ArtifactStore;
  const pool = new SshPool(new Ssh2Transport());
  const layout = new HostLayout('/srv/slipway');
  const hosts: RemoteHost[] = [];
  const src = () => join(work.dir, 'src');

  async function build(): Promise<ReleasePlan> {
    const r = await buildArtifact({ sourceDir: src(), workRoot: join(work.dir, 'work'), store });
    const indexed = store.indexed(r.digest);
    assert.ok(indexed, 'the artifact has an index');
    return planRelease(indexed.archive, indexed.index);
  }

  /** `type mode path -> target-or-sha256` of every entry below dir, via the host's own tools. */
  const TREE = `cd "$1" && find . -mindepth 1 \\( -type f -printf '%y %m %P ' -exec sh -c 'sha256sum < "$0" | cut -c1-64' {} \\; \\) -o -printf '%y %m %P %l\\n' | sort`;
  async function treeOn(h: RemoteHost, dir: string): Promise<string> {
    return (await h.run(['sh', '-c', TREE, 'sh', dir])).stdout.trim();
  }

  before(async () => {
    fleet = await Fleet.start({ hosts: 2 });
    work = await tempDir('slipway-ship-');
    store = new ArtifactStore(join(work.dir, 'store'));
    await writeTree(src(), {
      'server.js': 'console.log("hi")\n',
      'bin/run': { content: '#!/bin/sh\nexec node server.js\n', mode: 0o755 },
      'lib/a.js': 'module.exports = 1\n',
      'lib/same.js': 'module.exports = 1\n',
      'lib/deep/er/b.js': 'b\n',
      'lib/link.js': { link: 'a.js' },
      'empty/': { dir: true },
      'static/x.txt': 'x'.repeat(100_000),
    });
    const known = join(work.dir, 'known_hosts');
    await writeFile(known, fleet.knownHosts());
    for (const h of fleet.hosts) {
      const target: SshTarget = { host: h.address, port: 22, user: 'root', identityFile: fleet.keyFile, knownHosts: known };
      const host = await pool.get(target);
      await host.run(['mkdir', '-p', layout.files, layout.releases, layout.tmp]);
      hosts.push(host);
    }
  });
  after(async () => {
    await pool.closeAll();
    await fleet?.stop();
    await work?.cleanup();
  });

  it('assembles exactly the locally extracted tree, sends nothing to a host that has it, and one file for a one-file change', async () => {
    const v1 = await build();
    const local = join(work.dir, 'releases');
    const extracted = await store.materialize(v1.digest, local);
    // Host 1 is asked content by content, host 2 lists its whole store: the same outcome.
    const first = await Promise.all(hosts.map((h, i) => shipRelease(h, layout, v1, { inventoryAbove: i === 0 ? 1000 : 0 })));
    for (const r of first) {
      assert.equal(r.outcome, 'shipped');
      assert.equal(r.files, 6);
      assert.equal(r.filesSent, 5, 'lib/same.js has the content of lib/a.js: sent once');
    }
    const localTree = execFileSync('sh', ['-c', TREE, 'sh', extracted], { encoding: 'utf8' }).trim(); // read the same way
    assert.match(localTree, /^l 777 lib\/link\.js a\.js$/m);
    for (const h of hosts) assert.equal(await treeOn(h, layout.release(v1.digest)), localTree);

    const again = await shipRelease(hosts[0]!, layout, v1);
    assert.equal(again.outcome, 'present');
    assert.equal(again.filesSent, 0);
    assert.ok(again.bytesSent < 4096, `a host that has the release got ${again.bytesSent} bytes`);

    await writeFile(join(src(), 'lib/deep/er/b.js'), 'b, changed\n');
    const v2 = await build();
    const known = new Map([[v1.digest, v1]]);
    const second = await shipRelease(hosts[0]!, layout, v2, { known });
    assert.equal(second.outcome, 'shipped');
    assert.equal(second.filesSent, 1);
    assert.ok(
      second.bytesSent < first[0]!.bytesSent,
      `one-file change sent ${second.bytesSent} bytes, the first ship ${first[0]!.bytesSent}`,
    );
    assert.match((await hosts[0]!.run(['cat', `${layout.release(v2.digest)}/lib/deep/er/b.js`])).stdout, /changed/);
    // Unchanged files are the same inode as in the first release: no copy, no disk.
    const inodes = await hosts[0]!.run([
      'stat',
      '-c',
      '%i',
      `${layout.release(v1.digest)}/static/x.txt`,
      `${layout.release(v2.digest)}/static/x.txt`,
    ]);
    const [i1, i2] = inodes.stdout.trim().split('\n');
    assert.equal(i1, i2);
    assert.equal((await hosts[0]!.run(['sh', '-c', `ls ${layout.tmp} | wc -l`])).stdout.trim(), '0', 'no work directory left');
  });

  it('refuses a release whose stored content was damaged on the host, and leaves no release behind', async () => {
    await writeFile(join(src(), 'server.js'), 'console.log("v3")\n');
    await mkdir(join(src(), 'more'), { recursive: true });
    await writeFile(join(src(), 'more/new.js'), 'new\n');
    const v3 = await build();
    const h = hosts[1]!;
    // Damage the stored copy of static/x.txt (shared with v1's release through its hard link).
    const x = v3.entries.find((e) => e.rel === 'static/x.txt')!;
    await h.run(['sh', '-c', 'echo tampered >> "$1"', 'sh', `${layout.root}/files/${x.hex!.slice(0, 2)}/${x.hex}-644`]);
    const err = await shipRelease(h, layout, v3, { inventoryAbove: 0 }).catch((e: SlipwayError) => e);
    assert.ok(err instanceof SlipwayError && err.code === 'SHIP_VERIFY_FAILED', String(err));
    assert.match(err.message, /static\/x\.txt: content differs/);
    assert.equal((await h.run(['test', '-e', layout.release(v3.digest)], { check: false })).code, 1, 'no release was published');
    assert.equal((await h.run(['sh', '-c', `ls ${layout.tmp} | wc -l`])).stdout.trim(), '0');
  });

  it('refuses unsafe entries before sending anything', async () => {
    const index = (path: string, type: 'file' | 'symlink', link?: string): ArchiveIndex => ({
      digest: `sha256:${'0'.repeat(64)}`,
      bytes: 0,
      end: { offset: 0, length: 0 },
      entries: [{ path, type, mode: 0o644, size: 0, hex: 'a'.repeat(64), ...(link ? { link } : {}), offset: 0, length: 0, crc: 0, raw: 0 }],
    });
    for (const [ix, why] of [
      [index('../escape.js', 'file'), /\.\./],
      [index('/etc/passwd', 'file'), /absolute/],
      [index('l', 'symlink', '../../etc'), /outside/],
    ] as const) {
      const err = await planRelease('/nonexistent', ix).catch((e: SlipwayError) => e);
      assert.ok(err instanceof SlipwayError && err.code === 'SHIP_UNSAFE_ENTRY', String(err));
      assert.match(err.message, why);
    }
    await chmod(work.dir, 0o700);
  });
});
