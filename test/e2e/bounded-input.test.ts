/**
 * Bad input is bounded, through the real CLI: an oversized config and a YAML alias bomb are each
 * refused with their own code and exit 2 (not "a bug in Slipway", not a frozen or crashed process).
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TestProject } from '../support/project.js';

describe('bounded config input (real CLI)', () => {
  const p = new TestProject();
  after(() => p.cleanup());

  it('refuses a 64 MiB config before reading it, with CONFIG_TOO_LARGE and exit 2', async () => {
    const fd = openSync(join(p.dir, 'slipway.yaml'), 'w');
    writeSync(fd, 'app: big\nservices: {}\n# ');
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    for (let i = 0; i < 64; i++) writeSync(fd, chunk);
    closeSync(fd);
    for (const cmd of [
      ['validate', '--json'],
      ['up', '--json'],
    ]) {
      const r = await p.cli(cmd);
      assert.equal(r.code, 2, `${cmd[0]}: ${r.stderr}`);
      const body = JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } };
      assert.equal(body.error.code, 'CONFIG_TOO_LARGE');
      assert.match(body.error.message, /slipway\.yaml is 64\.0 MiB, over the limit of 1\.0 MiB/);
    }
    const text = await p.cli(['validate']);
    assert.match(text.stderr, /hint: /);
  });

  it('refuses a YAML alias bomb with CONFIG_TOO_MANY_ALIASES and exit 2', async () => {
    const lines = ['app: bomb', 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(',')}]`);
    writeFileSync(join(p.dir, 'slipway.yaml'), [...lines, 'services: {}', ''].join('\n'));
    const r = await p.cli(['validate', '--json']);
    assert.equal(r.code, 2, r.stderr);
    const body = JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } };
    assert.equal(body.error.code, 'CONFIG_TOO_MANY_ALIASES');
    assert.match(body.error.message, /limit of 100/);
    assert.match(body.error.hint, /anchors/);
  });
});
