/**
 * `slipway exec` and `slipway startup` end to end with the real CLI and controller: a one-off
 * command runs where and with what an instance of the serving release runs (no PORT), attached
 * to stdin/stdout/stderr, its exit code passed through; the systemd unit passes systemd's checks.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, TestProject } from '../support/project.js';
import type { StatusResponse } from '../../src/api/types.js';

/** The CLI with stdin fed and extra environment (TestProject.cli ignores stdin). */
/** An instance's environment as the kernel holds it (Linux). */
function environOf(pid: number): Record<string, string> {
  return Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

const SHOW = 'process.stdout.write(JSON.stringify({ cwd: process.cwd(), env: process.env }))';

describe('slipway exec (real processes)', () => {
  const p = new TestProject();
  before(async () => {
    await p.writeConfig({ env: { VERSION: 'v1', DATABASE_URL: 'postgres://db/app' } });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
  });
  after(() => p.cleanup());

  it("runs in the serving release's directory with an instance's env, without PORT", async () => {
    const status = JSON.parse((await p.cli(['status', '--json'])).stdout) as StatusResponse;
    const instance = status.services[0]!.instances[0]!;
    const r = await p.cli(['exec', 'web', '--', process.execPath, '-e', SHOW], { env: { PORT: '9999' } });
    assert.equal(r.code, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as { cwd: string; env: Record<string, string> };
    assert.equal(seen.cwd, readlinkSync(`/proc/${instance.pid}/cwd`), 'not the directory instances run in');
    assert.ok(existsSync(join(seen.cwd, 'server.js')));
    const theirs = environOf(instance.pid!);
    for (const k of ['VERSION', 'DATABASE_URL', 'SLIPWAY_RELEASE', 'SLIPWAY_SERVICE']) assert.equal(seen.env[k], theirs[k], k);
    assert.equal(seen.env.DATABASE_URL, 'postgres://db/app');
    assert.equal(seen.env.SLIPWAY_INSTANCE, 'web-1-exec');
    assert.equal(seen.env.PORT, undefined, "PORT is not set for a one-off command (not even from the caller's shell)");
  });

  it("passes stdin, stdout, stderr and the command's exit code through", async () => {
    const script =
      'let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => { console.log(s.toUpperCase()); console.error("to stderr"); process.exit(7); })';
    const r = await p.cli(['exec', 'web', '--', process.execPath, '-e', script], { input: 'hello\n' });
    assert.equal(r.code, 7);
    assert.equal(r.stdout, 'HELLO\n\n');
    assert.equal(r.stderr, 'to stderr\n');
    // A signal that ends the command is reported as a shell does: 128 + its number.
    const killed = await p.cli(['exec', 'web', '--', 'sh', '-c', 'kill -TERM $$']);
    assert.equal(killed.code, 128 + 15);
  });

  it("keeps the command's own flags: --json after -- is the command's", async () => {
    const r = await p.cli(['exec', 'web', '--', 'sh', '-c', 'echo "$@"', 'sh', '--json', '--dir', 'x']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '--json --dir x\n');
  });

  it("Slipway's own failures print error: and hint: lines with their documented exit codes", async () => {
    const missing = await p.cli(['exec', 'web', '--', 'no-such-program-xyz']);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /^error: no-such-program-xyz: no such command in .*releases.* or on PATH\nhint: /);
    const service = await p.cli(['exec', 'nope', '--', 'true']);
    assert.equal(service.code, 3);
    assert.match(service.stderr, /^error: no service named "nope"/);
    const usage = await p.cli(['exec', 'web']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /error: missing required argument 'command'/);
  });
});

describe('slipway startup', () => {
  const p = new TestProject();
  before(() => p.writeConfig());
  after(() => p.cleanup());

  it('prints a unit that runs `slipway server` for the project with absolute paths, Restart=on-failure', async () => {
    const r = await p.cli(['startup', '--print']);
    assert.equal(r.code, 0, r.stderr);
    const unit = r.stdout;
    assert.match(unit, new RegExp(`^WorkingDirectory=${p.dir}$`, 'm'));
    assert.ok(unit.includes(`\nExecStart="${process.execPath}" "${CLI}" server --dir "${p.dir}"\n`), unit);
    assert.match(unit, /^Restart=on-failure$/m);
    assert.match(unit, /^KillMode=process$/m);
    if (process.getuid?.() === 0) assert.match(unit, /^User=root$/m);
    assert.ok(!existsSync(join(p.dir, 'slipway-test.service')), '--print writes nothing');
  });

  it('writes a unit that systemd-analyze verify accepts, and neither enables nor starts it', async (t) => {
    const file = join(p.dir, 'slipway-test.service');
    const r = await p.cli(['startup', '--output', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Not enabled yet/);
    assert.equal(readFileSync(file, 'utf8'), (await p.cli(['startup', '--print'])).stdout);
    const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    if (analyze.error) {
      const why = 'systemd-analyze is not installed: the unit was NOT checked by systemd (apt-get install systemd to check it)';
      console.warn(`WARNING: ${why}`);
      t.skip(why);
      return;
    }
    const v = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    assert.equal(v.status, 0, v.stderr);
    // verify exits 0 on settings it ignores; any line about the unit is a problem.
    assert.equal(
      v.stderr
        .split('\n')
        .filter((l) => l.includes(file))
        .join('\n'),
      '',
    );
  });
});
