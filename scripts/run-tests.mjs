#!/usr/bin/env node
// Runs the compiled test files with Node's own test runner.
// Unit tests sit beside the code (dist/src/**/*.test.js); integration tests live in dist/test/.
// Usage: node scripts/run-tests.mjs [--unit | --integration] [filter...]
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const only = args.includes('--unit') ? 'unit' : args.includes('--integration') ? 'integration' : 'all';
const filters = args.filter((a) => !a.startsWith('--'));

function walk(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

let files = [...(only !== 'integration' ? walk('dist/src') : []), ...(only !== 'unit' ? walk('dist/test') : [])]
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

if (files.length === 0) {
  console.error('no test files found: run `npm run build` first');
  process.exit(1);
}
// System binaries some tests need (Debian packages, see scripts/install-system-deps.sh): installed
// here when missing and we can (root with apt-get), as CI does; otherwise those files are skipped,
// loudly, by name, so a fresh `npm ci && npm test` runs everything it can.
const NEEDS = [
  { bin: 'prometheus', tests: ['analysis/prometheus', 'e2e/prometheus-canary'] },
  { bin: 'age', tests: ['secrets/age-interop'] },
  { bin: 'podman', tests: ['containers/'] },
  { bin: 'runc', tests: ['containers/'] },
  { bin: 'skopeo', tests: ['containers/'] },
  { bin: 'docker-registry', tests: ['containers/'] },
  // The test fleet (test/support/fleet): hosts with their own sshd; the tests themselves skip when not root.
  { bin: 'sshd', tests: ['test/fleet/', 'test/ssh/'] },
];
const onPath = (bin) =>
  (process.env.PATH ?? '').split(delimiter).some((d) => {
    try {
      accessSync(join(d, bin), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
const missing = NEEDS.filter((n) => files.some((f) => n.tests.some((t) => f.includes(t))) && !onPath(n.bin));
if (missing.length) {
  const bins = missing.map((n) => n.bin);
  console.log(`run-tests: ${bins.join(', ')} missing; installing with scripts/install-system-deps.sh ${bins.join(' ')}`);
  const r = spawnSync('bash', [join(import.meta.dirname, 'install-system-deps.sh'), ...bins], { stdio: 'inherit' });
  if (r.status !== 0) console.error(`run-tests: could not install ${bins.join(', ')} (${r.error?.message ?? `exit ${r.status}`})`);
}
const skipped = [];
for (const n of NEEDS.filter((x) => !onPath(x.bin))) {
  for (const f of files.filter((x) => n.tests.some((t) => x.includes(t)))) skipped.push([f, n.bin]);
}
if (skipped.length) {
  const reason =
    process.getuid?.() !== 0 ? 'not running as root' : !onPath('apt-get') ? 'no apt-get on this machine' : 'the install failed (see above)';
  console.error(`\n!!! SKIPPING ${skipped.length} test file(s): ${reason}, so their binaries could not be installed:`);
  for (const [f, bin] of skipped)
    console.error(`!!!   ${relative('dist', f)}: needs \`${bin}\` (run scripts/install-system-deps.sh as root)`);
  console.error('');
  files = files.filter((f) => !skipped.some(([s]) => s === f));
  if (files.length === 0) process.exit(1);
}
console.log(`running ${files.length} test files: ${files.map((f) => relative('dist', f)).join(', ')}`);
// Beside the usual TAP on stdout, every failure with its error in a file printed last (see failures-reporter.mjs).
const failuresFile = join(mkdtempSync(join(tmpdir(), 'slipway-test-failures-')), 'failures.txt');
const r = spawnSync(
  process.execPath,
  [
    '--enable-source-maps',
    '--test',
    '--test-concurrency=2',
    '--test-timeout=240000',
    '--test-reporter=tap',
    '--test-reporter-destination=stdout',
    `--test-reporter=${join(import.meta.dirname, 'failures-reporter.mjs')}`,
    `--test-reporter-destination=${failuresFile}`,
    ...files,
  ],
  { stdio: 'inherit' },
);
try {
  const failures = readFileSync(failuresFile, 'utf8');
  if (failures) console.error(failures);
} catch {
  // no test ran far enough to report
}
rmSync(dirname(failuresFile), { recursive: true, force: true });
if (skipped.length)
  console.error(
    `\n!!! ${skipped.length} test file(s) were SKIPPED (missing ${[...new Set(skipped.map(([, b]) => b))].join(', ')}): see the top of this output`,
  );
process.exit(r.status ?? 1);
