import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fingerprint, hostToken, keyType, lookupHost, pinHost } from './known-hosts.js';

function blob(type: string, body: string): Buffer {
  const t = Buffer.from(type);
  const b = Buffer.from(body);
  const out = Buffer.alloc(8 + t.length + b.length);
  out.writeUInt32BE(t.length, 0);
  t.copy(out, 4);
  out.writeUInt32BE(b.length, 4 + t.length);
  b.copy(out, 8 + t.length);
  return out;
}

describe('known_hosts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-kh-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const k1 = blob('ssh-ed25519', 'one').toString('base64');
  const k2 = blob('ssh-ed25519', 'two').toString('base64');

  it('matches plain, [host]:port, patterns, negations and hashed names', () => {
    const salt = randomBytes(20);
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[10.0.0.9]:2222').digest('base64')}`;
    const file = join(dir, 'kh1');
    writeFileSync(
      file,
      [
        '# comment',
        `10.0.0.1,web1 ssh-ed25519 ${k1}`,
        `[10.0.0.2]:2222 ssh-ed25519 ${k2} some comment`,
        `10.0.1.*,!10.0.1.7 ssh-ed25519 ${k1}`,
        `${hashed} ssh-ed25519 ${k2}`,
        `@revoked 10.0.0.3 ssh-ed25519 ${k2}`,
        `@cert-authority *.example ssh-ed25519 ${k1}`,
      ].join('\n'),
    );
    assert.deepEqual(
      lookupHost(file, '10.0.0.1', 22).keys.map((k) => k.key),
      [k1],
    );
    assert.deepEqual(
      lookupHost(file, 'WEB1', 22).keys.map((k) => k.key),
      [k1],
    );
    assert.equal(lookupHost(file, '10.0.0.1', 2200).keys.length, 0, 'another port is another host');
    assert.deepEqual(
      lookupHost(file, '10.0.0.2', 2222).keys.map((k) => k.key),
      [k2],
    );
    assert.equal(lookupHost(file, '10.0.1.5', 22).keys.length, 1);
    assert.equal(lookupHost(file, '10.0.1.7', 22).keys.length, 0, 'negated');
    assert.deepEqual(
      lookupHost(file, '10.0.0.9', 2222).keys.map((k) => k.key),
      [k2],
    );
    assert.equal(lookupHost(file, '10.0.0.3', 22).revoked.length, 1);
    assert.equal(lookupHost(file, 'a.example', 22).keys.length, 0, 'CA lines are not host keys');
    assert.equal(lookupHost(join(dir, 'missing'), '10.0.0.1', 22).keys.length, 0);
  });

  it('pins a key in the format OpenSSH reads, and fingerprints as ssh-keygen -l does', () => {
    const file = join(dir, 'kh2');
    writeFileSync(file, `10.0.0.1 ssh-ed25519 ${k1}`); // no trailing newline
    pinHost(file, '10.0.0.5', 2200, blob('ssh-ed25519', 'two'));
    assert.equal(readFileSync(file, 'utf8'), `10.0.0.1 ssh-ed25519 ${k1}\n[10.0.0.5]:2200 ssh-ed25519 ${k2}\n`);
    assert.equal(hostToken('h', 22), 'h');
    assert.equal(keyType(blob('ssh-rsa', 'x')), 'ssh-rsa');
    assert.match(fingerprint(blob('ssh-ed25519', 'one')), /^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});
