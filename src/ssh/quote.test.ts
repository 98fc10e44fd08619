import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { commandLine, shellQuote, shellScript } from './quote.js';
import { HOSTILE } from './quote-testing.js';

describe('remote command quoting', () => {
  it('gives a POSIX shell exactly the argv, whatever the values hold', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-quote-'));
    try {
      const marker = join(dir, 'x');
      const values = HOSTILE(marker);
      // The same path as a remote command: the line is parsed by a shell (here the local sh).
      const out = execFileSync('sh', ['-c', commandLine(['printf', '%s\\0', ...values])], { cwd: dir });
      assert.deepEqual(out.toString('utf8').split('\0').slice(0, -1), values);
      assert.equal(existsSync(marker), false, 'nothing in a value ran');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes values to a constant script as positional parameters only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-quote-'));
    try {
      const marker = join(dir, 'x');
      const values = HOSTILE(marker);
      const out = execFileSync('sh', ['-c', commandLine(shellScript('for a in "$@"; do printf "%s\\0" "$a"; done', values))]);
      assert.deepEqual(out.toString('utf8').split('\0').slice(0, -1), values);
      assert.equal(existsSync(marker), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a NUL byte, which no command line can carry', () => {
    assert.throws(() => shellQuote('a\0b'), /NUL/);
  });
});
