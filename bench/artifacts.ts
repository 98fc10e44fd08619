/**
 * Artifact benchmark: how long Slipway takes to copy a source tree into a clean build directory,
 * pack it (tar + gzip + sha256 in one pass) and extract it into a release, beside `cp -r`,
 * `tar czf` + `sha256sum` and `tar xzf` on the same tree in the same run; then the whole deploy
 * path (`buildArtifact` + `materialize`, what `deploy` does before it starts instances) for a first
 * build, a one-file change and an unchanged rebuild.
 *
 * Trees are generated in a temp dir: `vendor/pkgNNN/fileNNN.js` files of ~4 KiB of text (so 20,000
 * files ≈ 80 MB, as in issue 13). Rounds are interleaved (Slipway, then the GNU tools, per round)
 * and medians reported. `sync` runs (untimed) before each timed step.
 *
 * The one-file change is also broken down (list, pack, store, materialize) with the process's CPU
 * time beside the wall time: on a shared 2-core VM the wall time mostly measures the neighbours.
 *
 * Run: `npm run bench -- artifacts` or `npm run build && node dist/bench/artifacts.js`
 * Flags: `--files=1000,20000` (tree sizes, 3 rounds each), `--huge=N` rounds of the 80,000-file tree
 * (default 1; `--huge=0` skips it: it takes minutes on a 2-core box), `--rounds=N` (default 3),
 * `--changes=N` one-file changes deployed per round (default 1; the disk line then covers N + 1
 * releases, e.g. `--changes=9` for ten).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ArtifactStore } from '../src/artifact/artifact-store.js';
import { buildArtifact } from '../src/artifact/build.js';
import { extractArchive } from '../src/artifact/extract.js';
import { IgnoreRules } from '../src/artifact/ignore-rules.js';
import { packDirectory } from '../src/artifact/pack.js';
import { ALWAYS_EXCLUDED, copySourceTree, listSourceTree } from '../src/artifact/source-tree.js';

const FILES_PER_PACKAGE = 100;
const FILE_BYTES = 4000;

interface Options {
  sizes: number[];
  rounds: number;
  hugeRounds: number;
  changes: number;
}

const HUGE = 80_000;

function parseArgs(argv: string[]): Options {
  let sizes = [1000, 20_000];
  let rounds = 3;
  let hugeRounds = 1;
  let changes = 1;
  for (const a of argv) {
    if (a.startsWith('--changes=')) changes = Number(a.slice(10));
    if (a === '--huge') hugeRounds = Math.max(hugeRounds, 1);
    else if (a.startsWith('--huge=')) hugeRounds = Number(a.slice(7));
    else if (a.startsWith('--files=')) sizes = a.slice(8).split(',').map(Number);
    else if (a.startsWith('--rounds=')) rounds = Number(a.slice(9));
  }
  return {
    sizes: [...new Set(sizes)].filter((n) => n > 0 && n !== HUGE),
    rounds: Math.max(1, rounds),
    hugeRounds: Math.max(0, hugeRounds || 0),
    changes: Math.max(1, changes),
  };
}

export async function run(argv = process.argv.slice(2)): Promise<void> {
  const opts = parseArgs(argv);
  for (const tool of ['cp', 'tar', 'sha256sum']) {
    if (spawnSync('which', [tool]).status !== 0) throw new Error(`${tool} is not installed`);
  }
  const tables: string[] = [];
  for (const n of opts.sizes) tables.push(await benchTree(n, opts.rounds, opts.changes));
  if (opts.hugeRounds > 0) tables.push(await benchTree(HUGE, opts.hugeRounds, opts.changes));
  const load = loadavg()[0]!.toFixed(1);
  console.log(`\nartifact benchmark (medians in seconds; ratio = Slipway / GNU tools; load average at the end ${load})`);
  for (const t of tables) console.log(t);
}

async function benchTree(files: number, rounds: number, changes: number): Promise<string> {
  const base = mkdtempSync(join(tmpdir(), 'slipway-bench-artifacts-'));
  try {
    const src = join(base, 'src');
    progress(`generating ${files} files`);
    await generateTree(src, files);
    const samples = new Map<string, number[]>();
    const add = (k: string, v: number): void => {
      samples.set(k, [...(samples.get(k) ?? []), v]);
    };

    for (let r = 1; r <= rounds; r++) {
      const round = join(base, `round-${r}`);
      await mkdir(round);
      // Slipway, step by step.
      const copy = join(round, 'slipway-copy');
      const archive = join(round, 'slipway.tar.gz');
      settle();
      const t0 = performance.now();
      const entries = await listSourceTree(src, {
        excludeNames: [...ALWAYS_EXCLUDED, 'node_modules'],
        ignore: await IgnoreRules.load(src),
      });
      await mkdir(copy);
      await copySourceTree(entries, copy);
      settle();
      const t1 = performance.now();
      const packed = await packDirectory(copy, archive);
      settle();
      const t2 = performance.now();
      await extractArchive(archive, join(round, 'slipway-release'), { expectedDigest: packed.digest });
      const t3 = performance.now();
      add('slipway copy', t1 - t0);
      add('slipway pack+digest', t2 - t1);
      add('slipway extract', t3 - t2);

      // The same with the GNU tools.
      settle();
      const g0 = performance.now();
      sh('cp', ['-r', src, join(round, 'gnu-copy')]);
      settle();
      const g1 = performance.now();
      sh('tar', ['czf', join(round, 'gnu.tar.gz'), '-C', join(round, 'gnu-copy'), '.']);
      sh('sha256sum', [join(round, 'gnu.tar.gz')]);
      settle();
      const g2 = performance.now();
      await mkdir(join(round, 'gnu-release'));
      sh('tar', ['xzf', join(round, 'gnu.tar.gz'), '-C', join(round, 'gnu-release')]);
      const g3 = performance.now();
      add('gnu copy', g1 - g0);
      add('gnu pack+digest', g2 - g1);
      add('gnu extract', g3 - g2);
      // Totals are sums of the step times (the untimed syncs between steps left out).
      add('slipway total', t1 - t0 + (t2 - t1) + (t3 - t2));
      add('gnu total', g1 - g0 + (g2 - g1) + (g3 - g2));

      // The deploy path: build + materialize, first time, after a one-file change, unchanged.
      const store = new ArtifactStore(join(round, 'state', 'artifacts'));
      const releases = join(round, 'state', 'releases');
      const workRoot = join(round, 'state', 'work');
      const deploy = async (breakdown?: string): Promise<number> => {
        settle();
        const s = performance.now();
        const cpu = process.cpuUsage();
        const built = await buildArtifact({ sourceDir: src, workRoot, store });
        const m = performance.now();
        await store.materialize(built.digest, releases);
        const e = performance.now();
        if (breakdown !== undefined) {
          const used = process.cpuUsage(cpu);
          add(`${breakdown} cpu`, (used.user + used.system) / 1000);
          for (const st of built.steps) add(`${breakdown} ${st.name}`, st.ms);
          add(`${breakdown} materialize`, e - m);
        }
        return e - s;
      };
      add('deploy first', await deploy());
      const changed = join(src, 'vendor', 'pkg000', 'file000.js');
      const before = await readFile(changed, 'utf8');
      for (let k = 1; k <= changes; k++) {
        await writeFile(changed, `${before}// round ${r}, change ${k}\n`);
        add('deploy one-file change', await deploy('change'));
      }
      add('deploy unchanged', await deploy());
      await writeFile(changed, before);
      // du counts a hard-linked inode once per invocation: the real disk use of all releases.
      add('disk releases', duKiB([releases, store.files.root]));
      add('disk tree', duKiB([src]));
      const line = [...samples]
        .filter(([k]) => !k.startsWith('disk') && !k.startsWith('change '))
        .map(([k, v]) => `${k} ${(v[v.length - 1]! / 1000).toFixed(2)}s`)
        .join(', ');
      progress(`${files} files, round ${r}/${rounds}: ${line}`);
      await rm(round, { recursive: true, force: true });
    }
    return table(files, samples, changes);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

/** `vendor/pkgNNN/fileNNN.js`, ~4 KB of text each, deterministic, like a vendored dependency tree. */
export async function generateTree(root: string, files: number): Promise<void> {
  const packages = Math.ceil(files / FILES_PER_PACKAGE);
  let made = 0;
  for (let p = 0; p < packages && made < files; p++) {
    const dir = join(root, 'vendor', `pkg${String(p).padStart(3, '0')}`);
    await mkdir(dir, { recursive: true });
    const writes: Promise<void>[] = [];
    for (let f = 0; f < FILES_PER_PACKAGE && made < files; f++, made++) {
      writes.push(writeFile(join(dir, `file${String(f).padStart(3, '0')}.js`), fileContent(p, f)));
    }
    await Promise.all(writes);
  }
}

function fileContent(p: number, f: number): string {
  const lines: string[] = [];
  let x = (p * 7919 + f * 104729) >>> 0;
  let len = 0;
  while (len < FILE_BYTES) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const line = `export const value_${p}_${f}_${lines.length} = ${x.toString(36)}; // ${(x % 9973).toString(16)}\n`;
    lines.push(line);
    len += line.length;
  }
  return lines.join('');
}

/**
 * Flushes dirty pages before a timed step (not timed itself), so a step does not pay for the
 * writeback of the one before it: on this shared VM that swung `tar xzf` from 0.7 s to 8 s.
 */
function settle(): void {
  spawnSync('sync');
}

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function duKiB(paths: string[]): number {
  const r = spawnSync('du', ['-sck', ...paths], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`du failed: ${r.stderr}`);
  return Number(/^(\d+)\s+total$/m.exec(r.stdout)?.[1]);
}

function table(files: number, samples: Map<string, number[]>, changes: number): string {
  const m = (k: string): number => median(samples.get(k)!) / 1000;
  const rounds = samples.get('slipway total')!.length;
  const rows: string[] = [
    `\n${files} files (${rounds} round${rounds > 1 ? 's' : ''})`,
    '| step | Slipway | GNU tools | ratio |',
    '|---|---:|---:|---:|',
  ];
  for (const step of ['copy', 'pack+digest', 'extract', 'total']) {
    const s = m(`slipway ${step}`);
    const g = m(`gnu ${step}`);
    rows.push(`| ${step} | ${s.toFixed(2)} s | ${g.toFixed(2)} s | ${(s / g).toFixed(2)} |`);
  }
  const gnu = m('gnu total');
  for (const k of ['deploy first', 'deploy one-file change', 'deploy unchanged']) {
    rows.push(`| ${k} (build + materialize) | ${m(k).toFixed(2)} s | — | ${(m(k) / gnu).toFixed(2)} × GNU total |`);
  }
  const parts = ['list', 'pack', 'store', 'materialize']
    .filter((k) => samples.has(`change ${k}`))
    .map((k) => `${k} ${m(`change ${k}`).toFixed(2)} s`);
  rows.push(
    `\none-file change, median per step: ${parts.join(', ')}; CPU time of the process ${m('change cpu').toFixed(2)} s (wall ${m('deploy one-file change').toFixed(2)} s)`,
  );
  const disk = median(samples.get('disk releases')!);
  const tree = median(samples.get('disk tree')!);
  rows.push(
    `\ndisk used by ${changes + 1} releases that differ by one file each (releases + file store): ${(disk / 1024).toFixed(1)} MiB, ${(disk / tree).toFixed(2)} × the tree (${(tree / 1024).toFixed(1)} MiB)`,
  );
  return rows.join('\n');
}

function progress(msg: string): void {
  console.log(`[bench artifacts] ${msg}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  run().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
