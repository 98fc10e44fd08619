/**
 * `slipway watch` against a real controller: one frame (`--once`, and as JSON), a live view that
 * prints a new frame when a deploy moves (fed by the event stream) and ends cleanly on Ctrl-C,
 * plain text without colour codes when not on a terminal, and an unknown service refused.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { TestProject, CLI } from '../support/project.js';
import { waitFor } from '../../src/core/wait-for.js';
import type { WatchFrame } from '../../src/cli/render/watch.js';

describe('slipway watch', () => {
  const p = new TestProject();

  before(async () => {
    await p.writeConfig({ instances: 1 });
    const up = await p.cli(['up']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
  });
  after(() => p.cleanup());

  it('--once prints one frame; with --json, the frame as JSON', async () => {
    const once = await p.cli(['watch', '--once']);
    assert.equal(once.code, 0, once.stderr);
    assert.match(once.stdout, /SERVICE\s+HEALTH\s+RELEASE\s+ROLLOUT\s+STEP\s+TRAFFIC\s+READY\s+LAST VERDICT/);
    assert.match(once.stdout, /\nweb\s+Healthy\s+1\s+#1 deploy Healthy\s+–\s+r1 100%\s+1\/1\s/);
    const json = await p.cli(['watch', '--once', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const frame = JSON.parse(json.stdout) as WatchFrame;
    assert.equal(frame.environment, 'local');
    assert.deepEqual(
      frame.services.map((s) => [s.service, s.health, s.release, s.instances.ready, s.traffic]),
      [['web', 'Healthy', 1, 1, [{ release: 1, share: 1 }]]],
    );
  });

  it('follows a deploy live, in plain lines when not on a terminal, and ends on Ctrl-C with exit 0', async () => {
    const child = spawn(process.execPath, [CLI, 'watch', 'web'], { cwd: p.dir, env: { ...process.env, NO_COLOR: '1' } });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await waitFor('the first frame', () => /web\s+Healthy\s+1\s/.test(text), 15_000);
      await p.writeConfig({ instances: 1, env: { VERSION: 'v2' } });
      const up = await p.cli(['up']);
      assert.equal(up.code, 0, up.stderr);
      await waitFor('a frame with release 2 serving', () => /\nweb\s+Healthy\s+2\s+#2 deploy Healthy/.test(text), 30_000);
      assert.ok(!text.includes('\u001b['), 'no escape codes when stdout is not a terminal');
      const frames = text.split('\n\n').filter((f) => /SERVICE/.test(f));
      assert.ok(frames.length >= 2, `a frame per change (${frames.length})`);
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, `exit code after Ctrl-C; stderr: ${stderr}`);
  });

  it('refuses a service that does not exist, saying which do', async () => {
    const r = await p.cli(['watch', 'nope', '--once']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /no service named "nope"/);
    assert.match(r.stderr, /Services: web/);
  });
});
