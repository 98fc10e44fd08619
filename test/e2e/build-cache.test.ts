/**
 * The build cache, end to end (issue 13): a service whose build command does slow work (here it
 * counts each time it really runs) declares `cache: { key, paths }`. A deploy whose key file did
 * not change restores the paths and the build finds its work done; a changed key file or
 * `deploy --no-cache` runs it again. The deploy output says which.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestProject } from '../support/project.js';
import type { StatusResponse } from '../../src/api/types.js';

describe('build cache (real CLI, controller and build command)', () => {
  const p = new TestProject();
  const counter = join(p.dir, 'installs.log');
  const runs = (): number => (existsSync(counter) ? readFileSync(counter, 'utf8').split('\n').filter(Boolean).length : 0);
  // An "install" that takes a while and leaves deps/ behind, and does nothing when deps/ is complete.
  const build = `[ -f deps/done ] || { echo install >> ${counter}; sleep 1; mkdir -p deps; cp package-lock.json deps/done; }`;
  const deploy = async (...flags: string[]) => {
    const r = await p.cli(['deploy', 'web', '--wait', ...flags], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  before(async () => {
    writeFileSync(join(p.dir, 'app', 'package-lock.json'), '{"lockfileVersion":3,"v":1}\n');
    await p.writeConfig({
      instances: 1,
      extra: `    build: "${build}"\n    cache: { key: [package-lock.json], paths: [deps] }`,
    });
  });
  after(() => p.cleanup());

  it('the first build (slipway up) runs the install and saves deps/', async () => {
    const r = await p.cli(['up'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(runs(), 1);
  });

  it('a change elsewhere in the source restores deps/ and the install does not run again', async () => {
    writeFileSync(join(p.dir, 'app', 'NOTES.txt'), 'a change that is not in the key\n');
    const out = await deploy();
    assert.equal(runs(), 1, 'the install did not run again');
    assert.match(out, /cache restore: .*hit: deps restored/);
    assert.match(out, /release 2/);
  });

  it('a changed key file is a miss: the install runs again', async () => {
    writeFileSync(join(p.dir, 'app', 'package-lock.json'), '{"lockfileVersion":3,"v":2}\n');
    const out = await deploy();
    assert.equal(runs(), 2);
    assert.match(out, /cache restore: .*miss: no deps saved for key/);
    assert.match(out, /build command: /);
    assert.match(out, /cache save: .*deps saved/);
  });

  it('deploy --no-cache builds from scratch even though the key is saved', async () => {
    writeFileSync(join(p.dir, 'app', 'NOTES.txt'), 'another change\n');
    const out = await deploy('--no-cache');
    assert.equal(runs(), 3);
    assert.match(out, /cache restore: .*skipped \(--no-cache\)/);
  });

  it('status shows the disk used, build cache included, in text and --json', async () => {
    const json = await p.cli(['status', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const disk = (JSON.parse(json.stdout) as StatusResponse).disk!;
    assert.ok(disk.artifacts.count >= 4 && disk.files.count > 0 && disk.releases.count > 0, JSON.stringify(disk));
    assert.ok(disk.caches.bytes > 0, 'the saved deps/ are counted');
    const text = await p.cli(['status']);
    assert.match(text.stdout, /disk .* · artifacts \d+ \(.*\) · file store \d+ files/);
  });

  it('a cache without a build command is a config error that names the fix', async () => {
    await p.writeConfig({ instances: 1, extra: '    cache: { key: [package-lock.json], paths: [deps] }' });
    const r = await p.cli(['deploy', 'web']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /a build cache needs a build command/);
  });
});
