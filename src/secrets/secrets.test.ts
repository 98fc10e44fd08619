import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import { decryptValue, encryptValue, newIdentity, recipientOf } from './age-box.js';
import { findKey, findOrCreateKey, keyFilePath, requireKey } from './key.js';
import { readSecretsFile, writeSecretsFile } from './secrets-file.js';
import { secretsHash } from './secrets-hash.js';
import { decryptSnapshot, requireSecretsSet, snapshotSecrets } from './release-secrets.js';
import { listSecrets, openSecretsProject, removeSecret, setSecret } from './secrets-commands.js';

const code = (err: unknown) => (err as SlipwayError).code;

describe('secrets', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-secrets-'));
    env = { XDG_CONFIG_HOME: join(dir, 'config'), HOME: dir };
    writeFileSync(
      join(dir, 'slipway.yaml'),
      'app: shop\nservices:\n  web: { source: ., start: node server.js, port: 8080, secrets: [API_KEY, DB] }\nenvironments:\n  local: { target: local }\n',
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the key: created on first use with mode 0600 in age-keygen format, found again, refused when others can read it', async () => {
    assert.equal(await findKey('shop', env), undefined);
    const k = await findOrCreateKey('shop', env);
    assert.equal(k.created, true);
    assert.equal(k.source, join(dir, 'config/slipway/keys/shop.txt'));
    assert.equal(statSync(k.source).mode & 0o777, 0o600);
    assert.match(readFileSync(k.source, 'utf8'), /^# public key: age1[a-z0-9]+\nAGE-SECRET-KEY-1[A-Z0-9]+\n$/m);
    const again = await findOrCreateKey('shop', env);
    assert.equal(again.created, false);
    assert.equal(again.identity, k.identity);
    chmodSync(k.source, 0o644);
    await assert.rejects(findKey('shop', env), (e) => code(e) === 'SECRETS_KEY_INVALID' && /chmod 600/.test((e as SlipwayError).hint!));
    chmodSync(k.source, 0o600);
  });

  it('SLIPWAY_SECRETS_KEY wins over the file; a malformed one is refused; without either, the error names where to put it', async () => {
    const other = await newIdentity();
    assert.equal((await findKey('shop', { ...env, SLIPWAY_SECRETS_KEY: other }))!.identity, other);
    await assert.rejects(findKey('shop', { ...env, SLIPWAY_SECRETS_KEY: 'not a key' }), (e) => code(e) === 'SECRETS_KEY_INVALID');
    await assert.rejects(
      requireKey('nothere', 'deploy', env),
      (e) => code(e) === 'SECRETS_KEY_MISSING' && (e as Error).message.includes(keyFilePath('nothere', env)),
    );
  });

  it('set, list and rm work on the file: ciphertext only, names and times readable, values never listed', async () => {
    const p = openSecretsProject(dir);
    const saved = process.env.XDG_CONFIG_HOME;
    process.env.XDG_CONFIG_HOME = env.XDG_CONFIG_HOME;
    try {
      const r = await setSecret(p, 'local', 'API_KEY', 'plain-api-key-value');
      assert.deepEqual([r.added, r.usedBy, r.keyCreated], [true, ['web'], null]);
    } finally {
      process.env.XDG_CONFIG_HOME = saved;
    }
    const text = readFileSync(p.file, 'utf8');
    assert.ok(!text.includes('plain-api-key-value'));
    assert.match(text, /-----BEGIN AGE ENCRYPTED FILE-----/);
    assert.equal(statSync(p.file).mode & 0o777, 0o644, 'committable: not private');
    const list = listSecrets(p);
    assert.deepEqual(
      list.secrets.map((s) => [s.environment, s.name, s.set]),
      [
        ['local', 'API_KEY', true],
        ['local', 'DB', false],
      ],
    );
    assert.ok(!JSON.stringify(list).includes('plain-api-key-value'));
    assert.throws(
      () => removeSecret(p, 'local', 'DB'),
      (e) => code(e) === 'SECRET_NOT_FOUND',
    );
  });

  it('a deploy snapshot refuses an unset secret, naming it and the command; once set, it decrypts to the values', async () => {
    const p = openSecretsProject(dir);
    const req = { configFile: p.configFile, app: 'shop', environment: 'local', service: 'web', names: ['API_KEY', 'DB'], env };
    await assert.rejects(snapshotSecrets(req), (e) => {
      const err = e as SlipwayError;
      return err.code === 'SECRET_NOT_SET' && err.message.includes('DB') && err.hint!.includes('slipway secrets set DB --env local');
    });
    const doc = readSecretsFile(p.file);
    doc.environments.local!.DB = { value: await encryptValue(doc.recipient!, 'postgres://u:pw@db/x'), changedAt: new Date().toISOString() };
    writeSecretsFile(p.file, doc);
    const snap = (await snapshotSecrets(req))!;
    assert.match(snap.hash, /^hmac-sha256:[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(snap).includes('postgres://'));
    assert.deepEqual(await decryptSnapshot('shop', snap, 'local', env), { API_KEY: 'plain-api-key-value', DB: 'postgres://u:pw@db/x' });
    assert.equal(await snapshotSecrets({ ...req, names: [] }), null);
    // Another key than the file's recipient: said plainly, before any decryption is tried.
    await assert.rejects(
      snapshotSecrets({ ...req, env: { ...env, SLIPWAY_SECRETS_KEY: await newIdentity() } }),
      (e) => code(e) === 'SECRETS_KEY_MISMATCH',
    );
  });

  it('`up` checks every service first: one error lists what each lacks, before anything is built', () => {
    const p = openSecretsProject(dir);
    assert.doesNotThrow(() => requireSecretsSet(p.configFile, 'local', { web: ['API_KEY', 'DB'], api: [] }));
    assert.throws(
      () => requireSecretsSet(p.configFile, 'local', { web: ['API_KEY'], api: ['TOKEN', 'DB'], jobs: ['TOKEN', 'OTHER'] }),
      (e) => {
        const err = e as SlipwayError;
        return (
          err.code === 'SECRET_NOT_SET' &&
          err.message.startsWith('api needs TOKEN; jobs needs TOKEN, OTHER: not set in environment "local"') &&
          err.hint!.includes('slipway secrets set TOKEN --env local') &&
          err.hint!.includes('slipway secrets set OTHER --env local')
        );
      },
    );
  });

  it('the secrets hash: same values same hash, any change a new one, and keyed (another key, another hash)', async () => {
    const a = await newIdentity();
    const b = await newIdentity();
    const v = { API_KEY: '1234', DB: 'x' };
    assert.equal(secretsHash(a, v), secretsHash(a, { DB: 'x', API_KEY: '1234' }), 'order does not matter');
    assert.notEqual(secretsHash(a, v), secretsHash(a, { ...v, API_KEY: '1235' }));
    assert.notEqual(secretsHash(a, v), secretsHash(b, v), 'without the key, a guessed value cannot be checked against the hash');
  });

  it('a value encrypted to another key or damaged fails with the secret named, never its value', async () => {
    const a = await newIdentity();
    const sealed = await encryptValue(await recipientOf(a), 'the-value');
    await assert.rejects(
      decryptValue(await newIdentity(), sealed, 'secret X'),
      (e) => code(e) === 'SECRET_DECRYPT_FAILED' && !(e as Error).message.includes('the-value'),
    );
    assert.equal(await decryptValue(a, sealed, 'secret X'), 'the-value');
  });

  it('a malformed secrets file is refused with what is wrong and how to recover', () => {
    const path = join(dir, 'bad.secrets.yaml');
    writeFileSync(path, 'version: 1\nrecipient: age1nope\n');
    assert.throws(
      () => readSecretsFile(path),
      (e) => code(e) === 'SECRETS_FILE_INVALID' && /recipient/.test((e as Error).message),
    );
    writeFileSync(path, 'version: 1\nenvironments: { local: { API_KEY: { value: plain, changedAt: now } } }\n');
    assert.throws(
      () => readSecretsFile(path),
      (e) => code(e) === 'SECRETS_FILE_INVALID',
    );
  });
});
