/**
 * The state database refuses to be trusted when it should not be (damaged, not a database, wrong
 * schema), is created the owner's alone, and is backed up and checked with SQLite's own tools.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from './sqlite-store.js';
import { listBackups, takeBackup, verifyBackup } from './backup.js';
import { SlipwayError } from '../core/errors.js';

const isCode = (code: string) => (e: unknown) => e instanceof SlipwayError && e.code === code;

describe('state database integrity and backups', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-state-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function storeWithData(file: string): Promise<SqliteStore> {
    const s = new SqliteStore(file);
    await s.migrate();
    await s.createRelease({
      environment: 'local',
      service: 'web',
      digest: 'sha256:' + 'a'.repeat(64),
      configHash: 'h',
      spec: {} as never,
      message: 'm',
      createdBy: 'me',
      rollbackOf: null,
    });
    await s.setCurrentRelease('local', 'web', 1);
    return s;
  }

  it('creates the database, its -wal and its -shm readable by the owner only', async () => {
    const file = join(dir, 'sub', 'state.db');
    const s = await storeWithData(file);
    const modes = readdirSync(join(dir, 'sub')).map((n) => [n, statSync(join(dir, 'sub', n)).mode & 0o777] as const);
    await s.close();
    assert.deepEqual(modes.map(([n]) => n).sort(), ['state.db', 'state.db-shm', 'state.db-wal']);
    for (const [n, mode] of modes) assert.equal(mode, 0o600, `${n} is ${mode.toString(8)}`);
    assert.equal(statSync(join(dir, 'sub')).mode & 0o777, 0o700);
  });

  it('refuses a file that is not a database, and one with damaged pages', async () => {
    const garbage = join(dir, 'garbage.db');
    writeFileSync(garbage, Buffer.alloc(8192, 0x5a));
    await assert.rejects(new SqliteStore(garbage).migrate(), isCode('STATE_DB_CORRUPT'));

    const file = join(dir, 'state.db');
    const s = await storeWithData(file);
    for (let i = 0; i < 200; i++)
      await s.appendEvent({ environment: 'local', service: 'web', rolloutId: null, type: 't', message: 'x'.repeat(500), data: {} });
    await s.close(); // checkpoints the WAL into the file
    // Scribble over the middle of the file (past page 1, so it still opens as a database).
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xff), 0, 4096, 4096 * 3);
    closeSync(fd);
    const damaged = new SqliteStore(file);
    await assert.rejects(
      damaged.migrate(),
      (e: unknown) => isCode('STATE_DB_CORRUPT')(e) && /slipway state restore/.test((e as SlipwayError).hint ?? ''),
    );
    await damaged.close();
  });

  it('refuses a database whose schema is not the one its migrations create', async () => {
    const other = join(dir, 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY)');
    db.close();
    await assert.rejects(new SqliteStore(other).migrate(), isCode('STATE_DB_SCHEMA'));

    const file = join(dir, 'state.db');
    await (await storeWithData(file)).close();
    const edit = new Database(file);
    edit.exec('DROP INDEX rollouts_one_active');
    edit.close();
    await assert.rejects(
      new SqliteStore(file).migrate(),
      (e: unknown) => isCode('STATE_DB_SCHEMA')(e) && /rollouts_one_active/.test((e as Error).message),
    );
  });

  it('backs up online into self-contained 0600 files, keeps the newest few, and checks them', async () => {
    const s = await storeWithData(join(dir, 'state.db'));
    const backups = join(dir, 'backups');
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < 7; i++) await takeBackup(s, backups, `web-rollout${i}`, 5, t0 + i * 1000);
    await s.close();
    const list = listBackups(backups);
    assert.equal(list.length, 5);
    assert.match(list[0]!.file, /rollout6\.db$/, 'newest first');
    assert.deepEqual(
      readdirSync(backups).filter((n) => !n.endsWith('.db')),
      [],
      'no -wal, -shm or partial files beside the backups',
    );
    for (const b of list) {
      assert.equal(statSync(b.file).mode & 0o777, 0o600);
      verifyBackup(b.file);
    }
    const restored = new SqliteStore(list[0]!.file);
    await restored.migrate();
    assert.equal(await restored.getCurrentRelease('local', 'web'), 1);
    await restored.close();

    writeFileSync(join(dir, 'bad.db'), 'not a database at all, just text that is long enough to look like something');
    assert.throws(() => verifyBackup(join(dir, 'bad.db')), isCode('STATE_BACKUP_INVALID'));
  });
});
