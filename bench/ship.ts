/**
 * Shipping benchmark (issue 8, issue 13's last point): a process release of a 20,001-file tree
 * (bench/artifacts.ts's generator: vendor/ of 200 packages × 100 files of ~4 KB, plus server.js)
 * shipped to 3 hosts of a test fleet (network namespaces with sshd, test/support/fleet) in
 * parallel: first ship, the same release again, and a one-file change. Bytes are what Slipway's
 * SSH connections wrote (framing and encryption included). Beside it, the plain way: the whole
 * .tar.gz piped to `tar -xzf` on each host over OpenSSH, which is what a one-file change costs
 * without a content store.
 *
 * Needs root (the fleet); skipped otherwise. Run: `npm run bench -- ship` (`--files=N` for another tree size).
 */
import { execFile } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ArtifactStore } from '../src/artifact/artifact-store.js';
import { tempDir } from '../src/artifact/artifact-testing.js';
import { buildArtifact } from '../src/artifact/build.js';
import { HostLayout } from '../src/fleet/host-layout.js';
import { planRelease, shipRelease, type ReleasePlan, type ShipResult } from '../src/fleet/ship.js';
import { SshPool } from '../src/ssh/pool.js';
import { Ssh2Transport } from '../src/ssh/ssh2-host.js';
import type { RemoteHost } from '../src/ssh/transport.js';
import { Fleet } from '../test/support/fleet/fleet.js';
import { generateTree } from './artifacts.js';

export async function run(argv = process.argv.slice(2)): Promise<void> {
  const skip = Fleet.skipReason();
  if (skip) {
    console.log(`ship: skipped (${skip})`);
    return;
  }
  const files = Number(argv.find((a) => a.startsWith('--files='))?.slice(8) ?? 20_000);
  const work = await tempDir('slipway-bench-ship-');
  const fleet = await Fleet.start({ hosts: 3 });
  const pool = new SshPool(new Ssh2Transport());
  try {
    const src = join(work.dir, 'src');
    await generateTree(src, files);
    await writeFile(join(src, 'server.js'), 'console.log("v1")\n');
    const store = new ArtifactStore(join(work.dir, 'store'));
    const build = async (): Promise<ReleasePlan> => {
      const r = await buildArtifact({ sourceDir: src, workRoot: join(work.dir, 'work'), store });
      const indexed = store.indexed(r.digest)!;
      return planRelease(indexed.archive, indexed.index);
    };
    const layout = new HostLayout('/srv/slipway');
    const known = join(work.dir, 'known_hosts');
    await writeFile(known, fleet.knownHosts());
    const hosts: RemoteHost[] = await Promise.all(
      fleet.hosts.map((h) => pool.get({ host: h.address, port: 22, user: 'root', identityFile: fleet.keyFile, knownHosts: known })),
    );
    await Promise.all(hosts.map((h) => h.run(['mkdir', '-p', layout.files, layout.releases, layout.tmp])));

    const rows: string[][] = [];
    const ship = async (what: string, plan: ReleasePlan, knownPlans: Map<string, ReleasePlan>) => {
      const t0 = performance.now();
      const results: ShipResult[] = await Promise.all(hosts.map((h) => shipRelease(h, layout, plan, { known: knownPlans })));
      const ms = performance.now() - t0;
      const bytes = results.reduce((a, r) => a + r.bytesSent, 0);
      const share = (['ask', 'send', 'link', 'verify', 'adopt'] as const)
        .map((k) => `${k} ${(results[0]!.steps[k] / 1000).toFixed(1)}`)
        .join(' ');
      rows.push([
        what,
        `${(ms / 1000).toFixed(2)} s`,
        mb(bytes),
        String(results[0]!.filesSent),
        `${results.map((r) => r.outcome).join(',')}`,
        share,
      ]);
    };
    const plain = async (what: string, plan: ReleasePlan) => {
      const t0 = performance.now();
      await Promise.all(fleet.hosts.map((_, i) => pipeArchive(fleet, i, plan.archive, `/srv/plain-${i}-${Date.now()}`)));
      const ms = performance.now() - t0;
      rows.push([what, `${(ms / 1000).toFixed(2)} s`, mb(statSync(plan.archive).size * 3), 'all', '-', '-']);
    };

    const v1 = await build();
    await ship(`Slipway, first ship (${v1.entries.filter((e) => e.type === 'file').length} files)`, v1, new Map());
    await ship('Slipway, same release again', v1, new Map());
    await writeFile(join(src, 'server.js'), 'console.log("v2")\n');
    const v2 = await build();
    await ship('Slipway, one-file change', v2, new Map([[v1.digest, v1]]));
    await ship('Slipway, one-file change, host store asked file by file', await rebuildChange(src, build), new Map());
    await plain('plain: .tar.gz | ssh tar -xzf (first ship)', v1);
    await plain('plain: .tar.gz | ssh tar -xzf (one-file change)', v2);

    console.log(
      `ship to 3 hosts in parallel (${files + 1}-file tree, archive ${mb(statSync(v1.archive).size)} per host; load average ${loadavg()[0]!.toFixed(1)})`,
    );
    console.log(table([['step', 'time', 'bytes sent (3 hosts)', 'files sent per host', 'outcome', 'host 1 steps (s)'], ...rows]));
  } finally {
    await pool.closeAll();
    await fleet.stop();
    await work.cleanup();
  }
}

/** Another one-file change, shipped without telling the shipper which releases the hosts have. */
async function rebuildChange(src: string, build: () => Promise<ReleasePlan>): Promise<ReleasePlan> {
  await writeFile(join(src, 'server.js'), 'console.log("v3")\n');
  return build();
}

/** The whole archive over OpenSSH into `tar -xzf` on the host. */
async function pipeArchive(fleet: Fleet, host: number, archive: string, dir: string): Promise<void> {
  const child = execFile('ssh', fleet.opensshArgs(host, `mkdir -p ${dir} && tar -xzf - -C ${dir}`));
  createReadStream(archive).pipe(child.stdin!);
  await new Promise<void>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ssh tar exited ${code}`)))),
  );
}

function mb(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ')).join('\n');
}
