import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStoreContract } from './store-contract.js';
import { SqliteStore } from './sqlite-store.js';
import { MIGRATIONS } from './migrations.js';
import { SlipwayError } from '../core/errors.js';

describeStoreContract('sqlite (in memory)', async () => new SqliteStore(':memory:'));

describe('SqliteStore on disk', () => {
  it('keeps state across reopening the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-store-'));
    try {
      const file = join(dir, 'state.db');
      const a = new SqliteStore(file);
      await a.migrate();
      await a.setCurrentRelease('local', 'web', 5);
      await a.close();
      const b = new SqliteStore(file);
      await b.migrate();
      assert.equal(await b.getCurrentRelease('local', 'web'), 5);
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a database written by a newer Slipway', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-store-'));
    try {
      const file = join(dir, 'state.db');
      const newer = new SqliteStore(file, [...MIGRATIONS, { version: 99, name: 'future', sql: 'CREATE TABLE future (x INTEGER)' }]);
      await newer.migrate();
      await newer.close();
      const older = new SqliteStore(file);
      await assert.rejects(older.migrate(), (e: unknown) => e instanceof SlipwayError && e.code === 'STORE_TOO_NEW');
      await older.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
