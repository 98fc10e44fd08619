/**
 * Upgrading a running single-environment project to the controller that serves environments (ADR
 * 0018): the state is written by Slipway as it was before environments (built from the last commit
 * without them), the old controller is stopped with its instances serving, and the new controller
 * adopts those very processes (same pids, no restart, no failed request) as environment "local".
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestProject, get } from '../support/project.js';
import { startLoad } from '../support/load.js';
import { waitFor } from '../../src/core/wait-for.js';
import type { StatusResponse } from '../../src/api/types.js';

/** The last commit before environments: its controller is "the current code" this upgrade starts from. */
const BEFORE_ENVIRONMENTS = 'c548d3c';
const ROOT = join(import.meta.dirname, '../../..');

function hasCommit(): boolean {
  return spawnSync('git', ['cat-file', '-e', `${BEFORE_ENVIRONMENTS}^{commit}`], { cwd: ROOT }).status === 0;
}

/** Builds the old Slipway into a temporary directory; returns the path of its CLI. */
async function buildOld(dir: string): Promise<string> {
  const archive = spawnSync('sh', ['-c', `git archive ${BEFORE_ENVIRONMENTS} src tsconfig.json package.json | tar -x -C "${dir}"`], {
    cwd: ROOT,
  });
  assert.equal(archive.status, 0, String(archive.stderr));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const tsc = spawn(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
    cwd: dir,
    stdio: 'inherit',
  });
  const code = await new Promise<number | null>((resolve) => tsc.on('exit', resolve));
  assert.equal(code, 0, 'the old version builds');
  return join(dir, 'dist/src/cli/main.js');
}

function oldCli(cli: string, p: TestProject, args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: p.dir, env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('upgrade: a running "local" project is adopted by the environments controller', { skip: !hasCommit() && 'no git history' }, () => {
  const p = new TestProject();
  const oldDir = mkdtempSync(join(tmpdir(), 'slipway-old-'));
  let cli = '';
  before(async () => {
    cli = await buildOld(oldDir);
    await p.writeConfig({ env: { VERSION: 'v1' }, instances: 2 });
  });
  after(async () => {
    await p.cleanup();
    rmSync(oldDir, { recursive: true, force: true });
  });

  it('keeps the same instance processes serving, with no failed request, and deploys on from there', async () => {
    const up = oldCli(cli, p, ['up']);
    assert.equal(up.code, 0, up.out);
    const before = JSON.parse(oldCli(cli, p, ['status', '--json']).out) as StatusResponse;
    const pids = before.services[0]!.instances.map((i) => i.pid).sort();
    assert.equal(pids.length, 2);
    // The old controller stops; its instances and router keep serving (ADR 0001).
    const stop = spawnSync('kill', [String(p.controllerPid())]);
    assert.equal(stop.status, 0);

    const load = startLoad(p.url);
    const newUp = await p.cli(['up']);
    assert.equal(newUp.code, 0, newUp.stderr + newUp.stdout);
    const after = await p.status();
    assert.equal(after.environment, 'local');
    assert.deepEqual(after.services[0]!.instances.map((i) => i.pid).sort(), pids, 'the same processes, adopted, not restarted');
    assert.match(newUp.stdout, /web: .*(unchanged|nothing changed|current)/);

    // And it goes on: a deploy through the new controller replaces them with zero failed requests.
    await p.writeConfig({ env: { VERSION: 'v2' }, instances: 2 });
    const deploy = await p.cli(['deploy', 'web']);
    assert.equal(deploy.code, 0, deploy.stderr + deploy.stdout);
    await waitFor('v2 answers', async () => (await get(p.url)).body.startsWith('v2 release=2'));
    const result = await load.stop();
    assert.ok(result.ok > 0);
    assert.equal(result.failed, 0, `failed requests: ${JSON.stringify(result.failures.slice(0, 5))}`);
  });
});
