/**
 * What installing the host agent costs (ADR 0026): the bundle `npm run build` writes (dist/agent/)
 * beside the alternative, dist/src/ with the production node_modules it imports, each packed as an
 * artifact and shipped to a fresh host of a test fleet (one host, over Slipway's SSH transport),
 * then shipped again (the host has it: nothing sent); and the agent's start, from `node` to its
 * first answer on the host, for both. Needs root (the fleet); skipped otherwise.
 * Run: `npm run bench -- agent-install`.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ArtifactStore } from '../src/artifact/artifact-store.js';
import { tempDir } from '../src/artifact/artifact-testing.js';
import { buildArtifact } from '../src/artifact/build.js';
import { AGENT_BUNDLE_DIR } from '../src/fleet/agent/agent-bundle.js';
import { HostLayout } from '../src/fleet/host-layout.js';
import { planRelease, shipRelease } from '../src/fleet/ship.js';
import { SshPool } from '../src/ssh/pool.js';
import { Ssh2Transport } from '../src/ssh/ssh2-host.js';
import { Fleet } from '../test/support/fleet/fleet.js';

const CHECKOUT = fileURLToPath(new URL('../../', import.meta.url));

export async function run(): Promise<void> {
  const skip = Fleet.skipReason();
  if (skip) {
    console.log(`agent-install: skipped (${skip})`);
    return;
  }
  const work = await tempDir('slipway-bench-agent-');
  const fleet = await Fleet.start({ hosts: 1, checkout: false });
  const pool = new SshPool(new Ssh2Transport());
  try {
    // The alternative: dist/src/ and every production package (npm ls --omit=dev), as a host would need them.
    const full = join(work.dir, 'full');
    await cp(join(CHECKOUT, 'dist', 'src'), join(full, 'dist', 'src'), { recursive: true });
    const prod = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: CHECKOUT, encoding: 'utf8' })
      .split('\n')
      .filter((p) => p.includes('/node_modules/') && !p.slice(p.indexOf('/node_modules/') + 14).includes('/node_modules/'));
    for (const dir of prod) {
      // Packing leaves out folders named node_modules (build.ts): they travel as modules/, linked back on the host.
      const rel = `modules/${dir.slice(dir.indexOf('/node_modules/') + '/node_modules/'.length)}`;
      await mkdir(join(full, rel), { recursive: true });
      await cp(dir, join(full, rel), { recursive: true, filter: (src) => !src.slice(dir.length).includes('/node_modules/') });
    }
    await writeFile(join(full, 'package.json'), '{"type":"module"}\n');
    const store = new ArtifactStore(join(work.dir, 'store'));
    const known = join(work.dir, 'known_hosts');
    await writeFile(known, fleet.knownHosts());
    const host = await pool.get({ host: fleet.hosts[0]!.address, port: 22, user: 'root', identityFile: fleet.keyFile, knownHosts: known });
    const layout = new HostLayout('/var/lib/slipway');
    await host.run(['mkdir', '-p', ...layout.directories]);
    const rows: string[][] = [];
    for (const [what, dir, entry] of [
      ['bundle (dist/agent/)', AGENT_BUNDLE_DIR, 'agent-main.js'],
      ['dist/src/ + production node_modules', full, 'dist/src/fleet/agent/agent-main.js'],
    ] as const) {
      const built = await buildArtifact({ sourceDir: dir, workRoot: join(work.dir, 'work'), store, rememberPack: false });
      const indexed = store.indexed(built.digest)!;
      const plan = await planRelease(indexed.archive, indexed.index);
      const raw = plan.entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0);
      const first = await shipRelease(host, layout, plan);
      const again = await shipRelease(host, layout, plan);
      if (dir === full) await host.run(['ln', '-sfn', 'modules', `${layout.release(built.digest)}/node_modules`]);
      // The agent's start on the host: Node loading it until it answers `hello` on its socket.
      const root = `/tmp/agent-bench-${built.digest.slice(7, 15)}`;
      const t0 = performance.now();
      const started = await host.run(
        [
          'sh',
          '-c',
          `node "$1" --root "$2" >/dev/null 2>&1 & p=$!; i=0; while [ ! -S "$2/agent/agent.sock" ] && [ $i -lt 200 ]; do sleep 0.01; i=$((i+1)); done; kill $p; echo $i`,
          'sh',
          `${layout.release(built.digest)}/${entry}`,
          root,
        ],
        { timeoutMs: 30_000 },
      );
      const startMs = performance.now() - t0;
      rows.push([
        what,
        String(built.files),
        mb(raw),
        mb(statSync(indexed.archive).size),
        `${(first.ms / 1000).toFixed(2)} s`,
        mb(first.bytesSent),
        `${again.ms} ms (${again.outcome})`,
        started.stdout.trim() === '200' ? 'did not start' : `${startMs.toFixed(0)} ms`,
      ]);
    }
    console.log('agent install: what a host gets, shipped to 1 fresh host, then again');
    console.log(table([['what', 'files', 'size', 'packed', 'first ship', 'sent', 'again', 'agent start'], ...rows]));
  } finally {
    await pool.closeAll();
    await fleet.stop();
    await work.cleanup();
  }
}

function mb(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ')).join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
