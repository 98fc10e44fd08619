/**
 * The secrets file is plain age: the stock `age` tool (Debian's, 1.1) decrypts a value
 * `slipway secrets set` wrote, with the key file Slipway created, and Slipway reads what `age`
 * encrypted. Needs the `age` binary (scripts/install-system-deps.sh installs it).
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestProject } from '../support/project.js';
import { readSecretsFile } from '../../src/secrets/secrets-file.js';
import { decryptValue } from '../../src/secrets/age-box.js';
import { findKey } from '../../src/secrets/key.js';

describe('age interoperability (the stock age tool)', () => {
  const p = new TestProject();
  const scratch = mkdtempSync(join(tmpdir(), 'slipway-age-'));
  const env = { XDG_CONFIG_HOME: join(p.dir, 'user-config') };
  after(async () => {
    rmSync(scratch, { recursive: true, force: true });
    await p.cleanup();
  });

  it('`age -d -i <key file>` decrypts a value written by `slipway secrets set`; Slipway decrypts what `age -e` wrote', async () => {
    await p.writeConfig();
    const value = 'interop value: ünïcode, spaces and "quotes"';
    const set = await p.cli(['secrets', 'set', 'API_KEY'], { input: `${value}\n`, env });
    assert.equal(set.code, 0, set.stderr);
    const keyFile = join(env.XDG_CONFIG_HOME, 'slipway/keys/test.txt');
    const doc = readSecretsFile(join(p.dir, 'slipway.secrets.yaml'));
    const armored = join(scratch, 'value.age');
    writeFileSync(armored, doc.environments.local!.API_KEY!.value);
    // The trailing newline of the input was removed: the stored value is exactly the line.
    assert.equal(execFileSync('age', ['-d', '-i', keyFile, armored], { encoding: 'utf8' }), value);

    const back = execFileSync('age', ['-e', '-a', '-r', doc.recipient!], { input: 'from age', encoding: 'utf8' });
    const key = await findKey('test', { ...process.env, ...env });
    assert.equal(await decryptValue(key!.identity, back, 'a value age wrote'), 'from age');
  });
});
