/** Tokens and the audit log in the real SQLite store: hashed tokens, live names, and an audit log the database itself keeps append-only. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../store/sqlite-store.js';
import { MIGRATIONS } from '../store/migrations.js';
import { SlipwayError } from '../core/errors.js';
import { createToken, findLiveToken, hashToken, verifyToken } from './tokens.js';
import { environmentAllowed, roleIncludes } from './roles.js';
import { audit } from './audit.js';
import { ensureLocalToken } from './local-token.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'slipway-access-'));
}

describe('roles', () => {
  it('each role includes the ones before it, and environments limit a token', () => {
    assert.ok(roleIncludes('admin', 'approver') && roleIncludes('approver', 'deployer') && roleIncludes('deployer', 'viewer'));
    assert.ok(!roleIncludes('viewer', 'deployer') && !roleIncludes('deployer', 'approver') && !roleIncludes('approver', 'admin'));
    assert.ok(environmentAllowed(null, 'production'));
    assert.ok(environmentAllowed(['staging'], 'staging'));
    assert.ok(!environmentAllowed(['staging'], 'production'));
  });
});

describe('API tokens in the store', () => {
  it('keeps only the hash, finds a token by its value, and refuses revoked and expired ones', async () => {
    const dir = tempDir();
    try {
      const store = new SqliteStore(join(dir, 'state.db'));
      await store.migrate();
      const { token, value } = await createToken(store, {
        name: 'ci',
        role: 'deployer',
        environments: ['staging'],
        expiresAt: 5000,
        createdBy: 't',
        now: 1000,
      });
      assert.match(value, /^slw_[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(await verifyToken(store, value, 2000), {
        tokenId: token.id,
        name: 'ci',
        role: 'deployer',
        environments: ['staging'],
      });
      assert.equal(await verifyToken(store, value, 5000), 'expired');
      assert.equal(await verifyToken(store, value + 'x', 2000), 'unknown');
      await assert.rejects(
        createToken(store, { name: 'ci', role: 'viewer', environments: null, expiresAt: null, createdBy: 't', now: 1000 }),
        (e: unknown) => e instanceof SlipwayError && e.code === 'TOKEN_NAME_TAKEN',
      );
      await store.revokeToken((await findLiveToken(store, 'ci')).id, 3000);
      assert.equal(await verifyToken(store, value, 2000), 'revoked');
      // The name is free again once its token is revoked.
      await createToken(store, { name: 'ci', role: 'viewer', environments: null, expiresAt: null, createdBy: 't', now: 1000 });
      await assert.rejects(findLiveToken(store, '999'), (e: unknown) => e instanceof SlipwayError && e.code === 'TOKEN_NOT_FOUND');
      await assert.rejects(
        createToken(store, { name: 'x', role: 'root', environments: null, expiresAt: null, createdBy: 't', now: 1 }),
        (e: unknown) => e instanceof SlipwayError && e.code === 'TOKEN_REQUEST_INVALID',
      );
      await store.close();
      // Neither the value nor anything but its hash is in the database file.
      const bytes = readFileSync(join(dir, 'state.db')).toString('latin1');
      assert.ok(!bytes.includes(value.slice(4)), 'token value stored');
      assert.ok(bytes.includes(hashToken(value)), 'hash not stored');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes the local admin token once, keeps it across starts, and replaces it when revoked', async () => {
    const dir = tempDir();
    try {
      const store = new SqliteStore(join(dir, 'state.db'));
      await store.migrate();
      const file = join(dir, 'token');
      const first = await ensureLocalToken(store, file, 1000);
      assert.equal(readFileSync(file, 'utf8').trim(), first);
      assert.equal(await ensureLocalToken(store, file, 2000), first);
      const p = await verifyToken(store, first, 2000);
      assert.ok(typeof p === 'object' && p.role === 'admin' && p.environments === null);
      await store.revokeToken(p.tokenId, 3000); // as `slipway tokens revoke` does (that route records its own entry)
      const second = await ensureLocalToken(store, file, 4000);
      assert.notEqual(second, first);
      assert.equal(readFileSync(file, 'utf8').trim(), second);
      assert.deepEqual(
        (await store.listAudit({})).map((e) => e.action),
        ['token.create', 'token.create'],
      );
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the audit log', () => {
  it('lists entries oldest first with filters, and the database refuses to change or delete one', async () => {
    const dir = tempDir();
    try {
      const file = join(dir, 'state.db');
      const store = new SqliteStore(file);
      await store.migrate();
      await audit(store, {
        actor: 'ci',
        action: 'deploy',
        at: 1000,
        environment: 'staging',
        service: 'web',
        before: { release: 1 },
        after: { release: 2 },
        outcome: 'ok',
      });
      await audit(store, {
        actor: 'ops',
        action: 'rollback',
        at: 2000,
        environment: 'production',
        service: 'api',
        reason: 'errors',
        outcome: 'ok',
      });
      await audit(store, { actor: 'ops', action: 'abort', at: 3000, environment: 'staging', service: 'web', outcome: 'ROLLOUT_NOT_FOUND' });
      assert.deepEqual(
        (await store.listAudit({})).map((e) => e.action),
        ['deploy', 'rollback', 'abort'],
      );
      assert.deepEqual(
        (await store.listAudit({ since: 1500 })).map((e) => e.action),
        ['rollback', 'abort'],
      );
      assert.deepEqual(
        (await store.listAudit({ service: 'web', environment: 'staging' })).map((e) => e.actor),
        ['ci', 'ops'],
      );
      const first = (await store.listAudit({ limit: 1 }))[0]!;
      assert.equal(first.action, 'abort', 'limit keeps the newest');
      const [deploy] = await store.listAudit({ service: 'web', limit: 2 });
      assert.deepEqual([deploy!.before, deploy!.after], [{ release: 1 }, { release: 2 }]);
      await store.close();

      // Even with SQL straight at the file, entries cannot be changed or removed.
      const db = new Database(file);
      try {
        assert.throws(() => db.prepare("UPDATE audit_log SET actor = 'someone else'").run(), /append-only/);
        assert.throws(() => db.prepare('DELETE FROM audit_log').run(), /append-only/);
        assert.equal((db.prepare('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n, 3);
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('comes to a database of the previous version with migration 4, keeping what it had', async () => {
    const dir = tempDir();
    try {
      const file = join(dir, 'state.db');
      const old = new SqliteStore(
        file,
        MIGRATIONS.filter((m) => m.version < 4),
      );
      await old.migrate();
      await old.setCurrentRelease('local', 'web', 3);
      await old.close();
      const store = new SqliteStore(file);
      await store.migrate();
      assert.equal(await store.getCurrentRelease('local', 'web'), 3);
      assert.deepEqual(await store.listTokens(), []);
      await audit(store, { actor: 'a', action: 'deploy', outcome: 'ok' });
      assert.equal((await store.listAudit({})).length, 1);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
