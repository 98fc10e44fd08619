/**
 * Slipway used from anywhere: `npm pack` gives a package that installs globally and runs
 * `slipway` in any directory, and `slipway init` writes a starter that fits the app it finds
 * (Node.js, Python, Go, a Procfile) which `slipway validate` accepts, with a docs link that works
 * outside this repository.
 *
 * The install uses --ignore-scripts: it keeps the test within a minute (building better-sqlite3's
 * native binding from source takes minutes on a busy machine and needs no test of ours), so this
 * covers the commands that open no state database: --version, init, validate.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  files: string[];
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
};

function run(cmd: string, args: string[], cwd: string, timeout = 60_000) {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, NO_COLOR: '1', npm_config_update_notifier: 'false' },
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

/** Every .js file under dir, recursively. */
function jsFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) jsFiles(p, out);
    else if (e.name.endsWith('.js') && !e.name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

describe('the npm package (packed, installed globally, run from elsewhere)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'slipway-pkg-'));
  const prefix = join(tmp, 'prefix');
  const bin = join(prefix, 'bin', 'slipway');
  const installed = join(prefix, 'lib', 'node_modules', 'slipway');
  let installError = '';

  before(() => {
    // dist/ is built (the tests run from it); `npm pack` would run `prepare` (tsc) again.
    const packed = run('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp], ROOT);
    assert.equal(packed.code, 0, packed.stderr);
    const tarball = readdirSync(tmp).find((f) => f.endsWith('.tgz'))!;
    const inst = run(
      'npm',
      ['install', '-g', '--prefix', prefix, join(tmp, tarball), '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'],
      tmp,
      50_000,
    );
    if (inst.code !== 0)
      installError = `npm install -g failed (exit ${inst.code}${inst.error ? `, ${inst.error.message}` : ''}): ${inst.stderr.slice(-2000)}`;
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('package.json: bin is built by prepare and shipped; every package the code imports is a dependency', () => {
    assert.equal(pkg.bin.slipway, 'dist/src/cli/main.js');
    assert.match(pkg.scripts.prepare ?? pkg.scripts.prepack ?? '', /npm run build/, 'npm pack builds dist/ first');
    for (const f of ['dist/src/', 'docs/', 'README.md']) assert.ok(pkg.files.includes(f), `files includes ${f}`);
    const builtin = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    const imported = new Set<string>();
    for (const file of jsFiles(join(ROOT, 'dist/src'))) {
      if (/-testing\.js$/.test(file)) continue; // helpers of the unit tests
      for (const m of readFileSync(file, 'utf8').matchAll(
        /(?:^|\n)\s*import\s[^'"]*?['"]([^'"./][^'"]*)['"]|import\(\s*['"]([^'"./][^'"]*)['"]\s*\)/g,
      )) {
        const spec = m[1] ?? m[2]!;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!spec.startsWith('node:') && !builtin.has(name)) imported.add(name);
      }
    }
    assert.ok(imported.has('commander') && imported.has('better-sqlite3'), `found the imports: ${[...imported].join(', ')}`);
    assert.deepEqual(
      [...imported].filter((n) => !(n in pkg.dependencies)),
      [],
      'imported at run time but not in dependencies',
    );
  });

  it('installs globally with the files the CLI, controller and router run by path, docs included, tests not', () => {
    assert.equal(installError, '');
    for (const f of [
      'dist/src/cli/main.js',
      'dist/src/router/main.js',
      'dist/src/drivers/local/log-writer-main.js',
      // The web dashboard ships built: a user needs no build step (ADR 0028).
      'dist/ui/index.html',
      'docs/configuration.md',
      'README.md',
      'schema/slipway.schema.json',
    ]) {
      assert.ok(existsSync(join(installed, f)), `${f} is in the installed package`);
    }
    assert.equal(existsSync(join(installed, 'dist/src/analysis/run.test.js')), false, 'no unit tests shipped');
    assert.equal(existsSync(join(installed, 'dist/test')), false, 'no integration tests shipped');
    const empty = mkdtempSync(join(tmp, 'anywhere-'));
    const v = run(bin, ['--version'], empty);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /^slipway \d+\.\d+\.\d+/);
  });

  const kinds: { name: string; files: Record<string, string>; build: RegExp | null; start: RegExp }[] = [
    {
      name: 'node-start',
      files: { 'package.json': '{"name":"shop","scripts":{"start":"node server.js"}}', 'package-lock.json': '{}', 'server.js': '' },
      build: /build: "npm ci --omit=dev"/,
      start: /start: "npm start"/,
    },
    {
      name: 'node-main',
      files: { 'package.json': '{"name":"api","main":"lib/api.js"}' },
      build: /build: "npm install --omit=dev"/,
      start: /start: "node lib\/api.js"/,
    },
    {
      name: 'python',
      files: { 'requirements.txt': 'flask\n', 'app.py': '' },
      build: /build: "python3 -m venv --copies \.venv && \.venv\/bin\/python -m pip install -r requirements.txt"/,
      start: /start: "\.venv\/bin\/python app.py"/,
    },
    {
      name: 'pyproject',
      files: { 'pyproject.toml': '[project]\nname = "x"\n', 'main.py': '' },
      build: /pip install \."/,
      start: /start: "\.venv\/bin\/python main.py"/,
    },
    {
      name: 'go',
      files: { 'go.mod': 'module example.com/x\n\ngo 1.22\n', 'main.go': 'package main\n' },
      build: /build: "go build -o app \."/,
      start: /start: "\.\/app"/,
    },
    {
      name: 'procfile',
      files: { Procfile: 'worker: node worker.js\nweb: gunicorn app:app --bind 127.0.0.1:$PORT\n', 'requirements.txt': 'gunicorn\n' },
      build: /pip install -r requirements.txt"/,
      start: /start: "PATH=\.venv\/bin:\$PATH gunicorn app:app --bind 127\.0\.0\.1:\$PORT"/,
    },
    { name: 'empty', files: {}, build: null, start: /start: "node server.js"/ },
  ];
  for (const k of kinds) {
    it(`init in a ${k.name} app writes a starter that fits it; validate accepts it`, () => {
      assert.equal(installError, '');
      const dir = join(tmp, `app-${k.name}`);
      mkdirSync(dir);
      for (const [f, text] of Object.entries(k.files)) {
        mkdirSync(join(dir, f, '..'), { recursive: true });
        writeFileSync(join(dir, f), text);
      }
      const init = run(bin, ['init'], dir);
      assert.equal(init.code, 0, init.stderr);
      const yaml = readFileSync(join(dir, 'slipway.yaml'), 'utf8');
      if (k.build) assert.match(yaml, k.build);
      else assert.match(yaml, /^ {4}# build:/m);
      assert.match(yaml, k.start);
      // The docs link works outside this repository: the installed package's own docs.
      const link = /Reference: (\S+)/.exec(yaml)?.[1] ?? '';
      assert.equal(link, join(installed, 'docs', 'configuration.md'));
      assert.ok(existsSync(link), `${link} exists`);
      const validate = run(bin, ['validate'], dir);
      assert.equal(validate.code, 0, `${validate.stdout}${validate.stderr}\n${yaml}`);
      assert.doesNotMatch(validate.stdout + validate.stderr, /warning/i);
    });
  }
});
