/** The example in examples/hello works as the README says: up, answer, logs, down. */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { CLI, freePort, get } from '../support/project.js';

const EXAMPLE = resolve(fileURLToPath(new URL('../../../examples/hello', import.meta.url)));

function slipway(dir: string, args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('examples/hello', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-example-'));
  after(() => {
    slipway(dir, ['down']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('deploys with `slipway up`, answers on its URL, shows logs, and stops with `slipway down`', async () => {
    cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !src.includes('.slipway') });
    const port = await freePort();
    const config = join(dir, 'slipway.yaml');
    writeFileSync(config, readFileSync(config, 'utf8').replace('port: 8080', `port: ${port}`));

    const up = slipway(dir, ['up']);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, new RegExp(`web: Healthy  http://127\\.0\\.0\\.1:${port}/`));
    const r = await get(`http://127.0.0.1:${port}/`);
    assert.match(r.body, /^hello from release 1 \(instance web-1-\w+\)/);

    const logs = slipway(dir, ['logs', 'web', '-n', '5']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /web-1-\w+ \| listening on \d+ \(release 1\)/);

    const down = slipway(dir, ['down']);
    assert.equal(down.code, 0, down.stderr);
    await assert.rejects(get(`http://127.0.0.1:${port}/`));

    // `npm start` again: nothing to roll out, but `up` returns once the app serves again.
    const again = slipway(dir, ['up']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /web: unchanged \(release 1 is current/);
    assert.match(again.stdout, new RegExp(`web: Healthy  http://127\\.0\\.0\\.1:${port}/`));
    assert.match((await get(`http://127.0.0.1:${port}/`)).body, /^hello from release 1 /);
  });
});
