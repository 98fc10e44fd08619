import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../core/atomic-file.js';
import { SlipwayError } from '../core/errors.js';
import { schemaDifference } from './schema-check.js';
import { MIGRATIONS, type Migration } from './migrations.js';
import type { Store } from './store.js';
import type { ApiToken, AuditEntry, NewApiToken, NewAuditEntry, Role } from './access-types.js';
import type { FlagRamp, FlagVersion, NewFlagRamp, NewFlagVersion } from './flag-types.js';
import type { ReleaseSecrets } from '../secrets/release-secrets.js';
import {
  TERMINAL_PHASES,
  type EventRecord,
  type NewEvent,
  type NewRelease,
  type Release,
  type PromotionEvidence,
  type ReleaseImage,
  type ReleaseOutcome,
  type Rollout,
} from './types.js';

type Row = Record<string, unknown>;

/** The embedded store: one SQLite file (WAL mode) under the project's .slipway/ directory. */
export class SqliteStore implements Store {
  private handle: Database.Database | undefined;

  /** Opens nothing yet: the file is opened (and created, 0600) by the first call, usually `migrate()`. */
  constructor(
    readonly path: string,
    private readonly migrations: Migration[] = MIGRATIONS,
  ) {}

  private get db(): Database.Database {
    this.handle ??= this.open();
    return this.handle;
  }

  private open(): Database.Database {
    if (this.path !== ':memory:') {
      mkdirSync(dirname(this.path), { recursive: true, mode: PRIVATE_DIR_MODE });
      // SQLite gives the -wal and -shm files the mode of the database file: create it 0600 first.
      closeSync(openSync(this.path, 'a', PRIVATE_FILE_MODE));
    }
    const db = new Database(this.path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = ON');
    } catch (err) {
      db.close();
      throw corrupt(this.path, err);
    }
    return db;
  }

  async migrate(): Promise<void> {
    try {
      const check = this.db.pragma('quick_check', { simple: false }) as { quick_check: string }[];
      if (check.length !== 1 || check[0]!.quick_check !== 'ok') {
        throw corrupt(
          this.path,
          new Error(
            check
              .slice(0, 5)
              .map((r) => r.quick_check)
              .join('; '),
          ),
        );
      }
      const tables = (
        this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]
      ).map((r) => r.name);
      if (tables.length > 0 && !tables.includes('schema_migrations')) {
        throw wrongSchema(
          this.path,
          `it has tables (${tables.slice(0, 5).join(', ')}) but no schema_migrations: not a Slipway state database`,
        );
      }
      this.applyMigrations();
      const problem = schemaDifference(this.db, this.migrations);
      if (problem) throw wrongSchema(this.path, problem);
    } catch (err) {
      if (err instanceof SlipwayError) throw err;
      const code = (err as { code?: string }).code ?? '';
      if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) throw corrupt(this.path, err);
      if (code.startsWith('SQLITE_')) throw wrongSchema(this.path, (err as Error).message, err);
      throw err;
    }
  }

  private applyMigrations(): void {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    const applied = new Set(
      (this.db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
    );
    const newest = Math.max(0, ...applied);
    const known = Math.max(0, ...this.migrations.map((m) => m.version));
    if (newest > known) {
      throw SlipwayError.of('STORE_TOO_NEW', `the state database has schema version ${newest}, newer than this Slipway knows (${known})`, {
        hint: 'Upgrade Slipway, or point it at another state directory.',
      });
    }
    for (const m of [...this.migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      })();
    }
  }

  /** SQLite's online backup: a consistent copy, page by page, while writers go on. */
  async backup(destination: string): Promise<void> {
    // The copy holds the same secrets as the original: create it 0600 before SQLite writes it.
    const fd = openSync(destination, 'wx', PRIVATE_FILE_MODE);
    closeSync(fd);
    await this.db.backup(destination);
    // The copy inherits WAL mode; as a rollback-journal database it is one self-contained file
    // that can be opened read-only, checked and copied without -wal and -shm beside it.
    const copy = new Database(destination);
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
  }

  async appendFlagVersion(v: NewFlagVersion): Promise<FlagVersion> {
    return this.db.transaction(() => {
      const { next } = this.db
        .prepare('SELECT COALESCE(MAX(version), 0) + 1 AS next FROM flag_versions WHERE environment = ? AND flag = ?')
        .get(v.environment, v.flag) as { next: number };
      this.db
        .prepare(
          `INSERT INTO flag_versions (environment, flag, version, action, patch_json, before_json, after_json, changed_by, changed_at, reason, revert_of)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          v.environment,
          v.flag,
          next,
          v.action,
          JSON.stringify(v.patch),
          JSON.stringify(v.before),
          JSON.stringify(v.after),
          v.by,
          v.at,
          v.reason,
          v.revertOf,
        );
      return { ...v, version: next };
    })();
  }

  async listFlagVersions(environment: string, flag: string, limit = 100): Promise<FlagVersion[]> {
    const rows = this.db
      .prepare('SELECT * FROM flag_versions WHERE environment = ? AND flag = ? ORDER BY version DESC LIMIT ?')
      .all(environment, flag, limit) as Row[];
    return rows.map(toFlagVersion);
  }

  async currentFlagVersions(environment: string): Promise<FlagVersion[]> {
    const rows = this.db
      .prepare(
        `SELECT f.* FROM flag_versions f
           JOIN (SELECT flag, MAX(version) AS v FROM flag_versions WHERE environment = ? GROUP BY flag) m ON m.flag = f.flag AND m.v = f.version
          WHERE f.environment = ? ORDER BY f.flag`,
      )
      .all(environment, environment) as Row[];
    return rows.map(toFlagVersion);
  }

  async createFlagRamp(r: NewFlagRamp): Promise<FlagRamp> {
    try {
      const { lastInsertRowid } = this.db
        .prepare(
          `INSERT INTO flag_ramps (environment, flag, schedule, steps_json, state, created_by, created_at, reason)
                VALUES (?, ?, ?, ?, 'active', ?, ?, ?)`,
        )
        .run(r.environment, r.flag, r.schedule, JSON.stringify(r.steps), r.createdBy, r.createdAt, r.reason);
      return { ...r, id: Number(lastInsertRowid), state: 'active', endedAt: null, endReason: null };
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw SlipwayError.of('FLAG_RAMP_ACTIVE', `flag "${r.flag}" already has an active ramp in ${r.environment}`, {
          hint: `Cancel it first: slipway flags ramp ${r.flag} --cancel --env ${r.environment}`,
        });
      throw err;
    }
  }

  async updateFlagRamp(id: number, u: Pick<FlagRamp, 'steps'> & Partial<Pick<FlagRamp, 'state' | 'endedAt' | 'endReason'>>): Promise<void> {
    this.db
      .prepare(
        `UPDATE flag_ramps SET steps_json = ?, state = COALESCE(?, state), ended_at = COALESCE(?, ended_at), end_reason = COALESCE(?, end_reason)
          WHERE id = ?`,
      )
      .run(JSON.stringify(u.steps), u.state ?? null, u.endedAt ?? null, u.endReason ?? null, id);
  }

  async listFlagRamps(f: { environment?: string; flag?: string; state?: FlagRamp['state']; limit?: number }): Promise<FlagRamp[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    whereEqual(where, args, { environment: f.environment, flag: f.flag, state: f.state });
    const rows = this.db
      .prepare(`SELECT * FROM flag_ramps ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`)
      .all(...args, f.limit ?? 100) as Row[];
    return rows.map(toFlagRamp);
  }

  async createRelease(r: NewRelease): Promise<Release> {
    return this.db.transaction(() => {
      const { next } = this.db
        .prepare('SELECT COALESCE(MAX(number), 0) + 1 AS next FROM releases WHERE environment = ? AND service = ?')
        .get(r.environment, r.service) as { next: number };
      const n = Math.max(next, r.atLeast ?? 1);
      const { atLeast: _, ...fields } = r;
      const createdAt = r.createdAt ?? Date.now();
      this.db
        .prepare(
          `INSERT INTO releases (environment, service, number, digest, config_hash, spec_json, message, created_by, created_at, outcome, pruned_at, rollback_of, secrets_json)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', NULL, ?, ?)`,
        )
        .run(
          r.environment,
          r.service,
          n,
          r.digest,
          r.configHash,
          JSON.stringify(r.spec),
          r.message,
          r.createdBy,
          createdAt,
          r.rollbackOf,
          r.secrets ? JSON.stringify(r.secrets) : null,
        );
      if (r.evidence)
        this.db
          .prepare('INSERT INTO release_evidence (environment, service, number, evidence_json) VALUES (?, ?, ?, ?)')
          .run(r.environment, r.service, n, JSON.stringify(r.evidence));
      if (r.image)
        this.db
          .prepare('INSERT INTO release_images (environment, service, number, image_json) VALUES (?, ?, ?, ?)')
          .run(r.environment, r.service, n, JSON.stringify(r.image));
      return { ...fields, secrets: r.secrets ?? null, number: n, createdAt, outcome: 'pending' as const, prunedAt: null };
    })();
  }

  async getRelease(environment: string, service: string, number: number): Promise<Release | undefined> {
    const row = this.db
      .prepare(`SELECT ${RELEASE_COLUMNS} WHERE releases.environment = ? AND releases.service = ? AND releases.number = ?`)
      .get(environment, service, number) as Row | undefined;
    return row && toRelease(row);
  }

  async listReleases(environment: string, service: string, limit = 1000): Promise<Release[]> {
    const rows = this.db
      .prepare(`SELECT ${RELEASE_COLUMNS} WHERE releases.environment = ? AND releases.service = ? ORDER BY releases.number DESC LIMIT ?`)
      .all(environment, service, limit) as Row[];
    return rows.map(toRelease);
  }

  async setReleaseOutcome(environment: string, service: string, number: number, outcome: ReleaseOutcome): Promise<void> {
    this.db
      .prepare('UPDATE releases SET outcome = ? WHERE environment = ? AND service = ? AND number = ?')
      .run(outcome, environment, service, number);
  }

  async markReleasePruned(environment: string, service: string, number: number, at: number): Promise<void> {
    this.db
      .prepare('UPDATE releases SET pruned_at = ? WHERE environment = ? AND service = ? AND number = ?')
      .run(at, environment, service, number);
  }

  async listServices(environment: string): Promise<string[]> {
    const rows = this.db.prepare('SELECT DISTINCT service FROM releases WHERE environment = ? ORDER BY service').all(environment) as {
      service: string;
    }[];
    return rows.map((r) => r.service);
  }

  async listEnvironments(): Promise<string[]> {
    const rows = this.db.prepare('SELECT DISTINCT environment FROM releases ORDER BY environment').all() as { environment: string }[];
    return rows.map((r) => r.environment);
  }

  async getCurrentRelease(environment: string, service: string): Promise<number | null> {
    const row = this.db.prepare('SELECT number FROM current_release WHERE environment = ? AND service = ?').get(environment, service) as
      { number: number | null } | undefined;
    return row?.number ?? null;
  }

  async setCurrentRelease(environment: string, service: string, number: number | null): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO current_release (environment, service, number) VALUES (?, ?, ?) ON CONFLICT (environment, service) DO UPDATE SET number = excluded.number',
      )
      .run(environment, service, number);
  }

  async createRollout(r: Omit<Rollout, 'id' | 'updatedAt' | 'finishedAt'>): Promise<Rollout> {
    return this.db.transaction(() => {
      const active = this.db
        .prepare('SELECT * FROM rollouts WHERE environment = ? AND service = ? AND active = 1')
        .get(r.environment, r.service) as Row | undefined;
      if (active) {
        const a = toRollout(active);
        throw SlipwayError.of(
          'ROLLOUT_IN_PROGRESS',
          `rollout #${a.id} of ${r.service} (release ${a.toRelease}, ${a.phase}) is in progress`,
          {
            hint: `Wait for it (slipway status ${r.service}), or stop it first.`,
            details: { rolloutId: a.id, toRelease: a.toRelease, phase: a.phase },
          },
        );
      }
      const isActive = TERMINAL_PHASES.includes(r.phase) ? 0 : 1;
      const info = this.db
        .prepare(
          `INSERT INTO rollouts (environment, service, kind, from_release, to_release, target_release, phase, reason, message, progress_json, started_at, updated_at, finished_at, active)
                  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
        )
        .run(
          r.environment,
          r.service,
          r.kind,
          r.fromRelease,
          r.toRelease,
          r.targetRelease,
          r.phase,
          r.reason,
          r.message,
          JSON.stringify(r.progress),
          r.startedAt,
          r.startedAt,
          isActive,
        );
      return { ...r, id: Number(info.lastInsertRowid), updatedAt: r.startedAt, finishedAt: null };
    })();
  }

  async getRollout(id: number): Promise<Rollout | undefined> {
    const row = this.db.prepare('SELECT * FROM rollouts WHERE id = ?').get(id) as Row | undefined;
    return row && toRollout(row);
  }

  async activeRollout(environment: string, service: string): Promise<Rollout | undefined> {
    const row = this.db.prepare('SELECT * FROM rollouts WHERE environment = ? AND service = ? AND active = 1').get(environment, service) as
      Row | undefined;
    return row && toRollout(row);
  }

  async activeRollouts(): Promise<Rollout[]> {
    return (this.db.prepare('SELECT * FROM rollouts WHERE active = 1 ORDER BY id').all() as Row[]).map(toRollout);
  }

  async listRollouts(environment: string, service: string, limit = 100): Promise<Rollout[]> {
    const rows = this.db
      .prepare('SELECT * FROM rollouts WHERE environment = ? AND service = ? ORDER BY id DESC LIMIT ?')
      .all(environment, service, limit) as Row[];
    return rows.map(toRollout);
  }

  async updateRollout(
    id: number,
    patch: Partial<Pick<Rollout, 'phase' | 'reason' | 'message' | 'progress' | 'targetRelease' | 'finishedAt'>>,
    now: number,
  ): Promise<Rollout> {
    const current = await this.getRollout(id);
    if (!current) throw SlipwayError.of('ROLLOUT_NOT_FOUND', `rollout #${id} does not exist`);
    const next: Rollout = { ...current, ...patch, updatedAt: now };
    const active = TERMINAL_PHASES.includes(next.phase) ? 0 : 1;
    this.db
      .prepare(
        'UPDATE rollouts SET phase = ?, reason = ?, message = ?, progress_json = ?, target_release = ?, finished_at = ?, updated_at = ?, active = ? WHERE id = ?',
      )
      .run(next.phase, next.reason, next.message, JSON.stringify(next.progress), next.targetRelease, next.finishedAt, now, active, id);
    return next;
  }

  async appendEvent(e: NewEvent): Promise<EventRecord> {
    const at = e.at ?? Date.now();
    const info = this.db
      .prepare('INSERT INTO events (at, environment, service, rollout_id, type, message, data_json) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(at, e.environment, e.service, e.rolloutId, e.type, e.message, JSON.stringify(e.data));
    return { ...e, id: Number(info.lastInsertRowid), at };
  }

  async listEvents(f: {
    environment?: string;
    service?: string;
    rolloutId?: number;
    afterId?: number;
    limit?: number;
  }): Promise<EventRecord[]> {
    const where: string[] = ['id > ?'];
    const args: unknown[] = [f.afterId ?? 0];
    whereEqual(where, args, { environment: f.environment, service: f.service, rollout_id: f.rolloutId });
    args.push(f.limit ?? 1000);
    const rows = this.db.prepare(`SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`).all(...args) as Row[];
    return rows.map((r) => ({
      id: r.id as number,
      at: r.at as number,
      environment: r.environment as string,
      service: (r.service as string | null) ?? null,
      rolloutId: (r.rollout_id as number | null) ?? null,
      type: r.type as string,
      message: r.message as string,
      data: JSON.parse(r.data_json as string),
    }));
  }

  async createToken(t: NewApiToken): Promise<ApiToken> {
    try {
      const info = this.db
        .prepare(
          'INSERT INTO api_tokens (name, hash, role, environments_json, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(t.name, t.hash, t.role, t.environments ? JSON.stringify(t.environments) : null, t.createdBy, t.createdAt, t.expiresAt);
      const { hash: _, ...rest } = t;
      return { ...rest, id: Number(info.lastInsertRowid), revokedAt: null };
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw SlipwayError.of('TOKEN_NAME_TAKEN', `a live token is already named "${t.name}"`, {
          hint: `Pick another --name, or revoke it first: slipway tokens revoke ${t.name}`,
        });
      throw err;
    }
  }

  async findToken(hash: string): Promise<ApiToken | undefined> {
    const row = this.db.prepare('SELECT * FROM api_tokens WHERE hash = ?').get(hash) as Row | undefined;
    return row && toToken(row);
  }

  async listTokens(): Promise<ApiToken[]> {
    return (this.db.prepare('SELECT * FROM api_tokens ORDER BY id').all() as Row[]).map(toToken);
  }

  async revokeToken(id: number, at: number): Promise<ApiToken | undefined> {
    const done = this.db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id);
    if (done.changes === 0) return undefined;
    const row = this.db.prepare('SELECT * FROM api_tokens WHERE id = ?').get(id) as Row;
    return toToken(row);
  }

  async appendAudit(e: NewAuditEntry): Promise<AuditEntry> {
    const entry: Omit<AuditEntry, 'id'> = {
      at: e.at ?? Date.now(),
      actor: e.actor,
      action: e.action,
      environment: e.environment ?? null,
      service: e.service ?? null,
      before: e.before ?? null,
      after: e.after ?? null,
      reason: e.reason ?? '',
      outcome: e.outcome,
    };
    const info = this.db
      .prepare(
        'INSERT INTO audit_log (at, actor, action, environment, service, before_json, after_json, reason, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        entry.at,
        entry.actor,
        entry.action,
        entry.environment,
        entry.service,
        JSON.stringify(entry.before),
        JSON.stringify(entry.after),
        entry.reason,
        entry.outcome,
      );
    return { id: Number(info.lastInsertRowid), ...entry };
  }

  async lastIds(): Promise<{ event: number; audit: number }> {
    const row = this.db
      .prepare('SELECT (SELECT COALESCE(MAX(id), 0) FROM events) AS event, (SELECT COALESCE(MAX(id), 0) FROM audit_log) AS audit')
      .get() as { event: number; audit: number };
    return { event: row.event, audit: row.audit };
  }

  async listAudit(f: { since?: number; afterId?: number; environment?: string; service?: string; limit?: number }): Promise<AuditEntry[]> {
    const where: string[] = ['at >= ?', 'id > ?'];
    const args: unknown[] = [f.since ?? 0, f.afterId ?? 0];
    whereEqual(where, args, { environment: f.environment, service: f.service });
    args.push(f.limit ?? 1000);
    // After an id (a reader catching up, the event stream): the oldest `limit` entries after it;
    // else the newest `limit` entries. Oldest first either way.
    const sql =
      f.afterId !== undefined
        ? `SELECT * FROM audit_log WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`
        : `SELECT * FROM (SELECT * FROM audit_log WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?) ORDER BY id`;
    const rows = this.db.prepare(sql).all(...args) as Row[];
    return rows.map((r) => ({
      id: r.id as number,
      at: r.at as number,
      actor: r.actor as string,
      action: r.action as string,
      environment: (r.environment as string | null) ?? null,
      service: (r.service as string | null) ?? null,
      before: JSON.parse((r.before_json as string | null) ?? 'null'),
      after: JSON.parse((r.after_json as string | null) ?? 'null'),
      reason: r.reason as string,
      outcome: r.outcome as string,
    }));
  }

  async close(): Promise<void> {
    this.handle?.close();
    this.handle = undefined;
  }
}

/** A release with its promotion evidence and its image, if any. */
const RELEASE_COLUMNS =
  'releases.*, e.evidence_json, i.image_json FROM releases LEFT JOIN release_evidence e USING (environment, service, number) LEFT JOIN release_images i USING (environment, service, number)';

function toRelease(r: Row): Release {
  const evidence = typeof r.evidence_json === 'string' ? { evidence: JSON.parse(r.evidence_json) as PromotionEvidence } : {};
  const image = typeof r.image_json === 'string' ? { image: JSON.parse(r.image_json) as ReleaseImage } : {};
  return {
    ...evidence,
    ...image,
    environment: r.environment as string,
    service: r.service as string,
    number: r.number as number,
    digest: r.digest as string,
    configHash: r.config_hash as string,
    spec: JSON.parse(r.spec_json as string),
    message: r.message as string,
    createdBy: r.created_by as string,
    createdAt: r.created_at as number,
    outcome: r.outcome as ReleaseOutcome,
    prunedAt: (r.pruned_at as number | null) ?? null,
    rollbackOf: (r.rollback_of as number | null) ?? null,
    secrets: r.secrets_json ? (JSON.parse(r.secrets_json as string) as ReleaseSecrets) : null,
  };
}

function toToken(r: Row): ApiToken {
  return {
    id: r.id as number,
    name: r.name as string,
    role: r.role as Role,
    environments: r.environments_json ? (JSON.parse(r.environments_json as string) as string[]) : null,
    createdBy: r.created_by as string,
    createdAt: r.created_at as number,
    expiresAt: (r.expires_at as number | null) ?? null,
    revokedAt: (r.revoked_at as number | null) ?? null,
  };
}

function toRollout(r: Row): Rollout {
  return {
    id: r.id as number,
    environment: r.environment as string,
    service: r.service as string,
    kind: r.kind as Rollout['kind'],
    fromRelease: (r.from_release as number | null) ?? null,
    toRelease: r.to_release as number,
    targetRelease: r.target_release as number,
    phase: r.phase as Rollout['phase'],
    reason: r.reason as string,
    message: r.message as string,
    progress: JSON.parse(r.progress_json as string),
    startedAt: r.started_at as number,
    updatedAt: r.updated_at as number,
    finishedAt: (r.finished_at as number | null) ?? null,
  };
}

const RESTORE_HINT =
  'The instances and the router keep serving. Restore the newest backup with `slipway state restore` (backups are in .slipway/backups/), then run slipway up.';

function corrupt(path: string, cause: unknown): SlipwayError {
  return SlipwayError.of('STATE_DB_CORRUPT', `the state database ${path} is damaged: ${(cause as Error).message}`, {
    hint: RESTORE_HINT,
    cause,
    details: { file: path },
  });
}

function wrongSchema(path: string, why: string, cause?: unknown): SlipwayError {
  return SlipwayError.of('STATE_DB_SCHEMA', `the state database ${path} does not have the schema Slipway expects: ${why}`, {
    hint: RESTORE_HINT,
    cause,
    details: { file: path },
  });
}

function toFlagVersion(r: Row): FlagVersion {
  return {
    environment: r.environment as string,
    flag: r.flag as string,
    version: r.version as number,
    action: r.action as FlagVersion['action'],
    patch: JSON.parse(r.patch_json as string),
    before: JSON.parse(r.before_json as string),
    after: JSON.parse(r.after_json as string),
    by: r.changed_by as string,
    at: r.changed_at as number,
    reason: r.reason as string,
    revertOf: (r.revert_of as number | null) ?? null,
  };
}

function toFlagRamp(r: Row): FlagRamp {
  return {
    id: r.id as number,
    environment: r.environment as string,
    flag: r.flag as string,
    schedule: r.schedule as string,
    steps: JSON.parse(r.steps_json as string),
    state: r.state as FlagRamp['state'],
    createdBy: r.created_by as string,
    createdAt: r.created_at as number,
    reason: r.reason as string,
    endedAt: (r.ended_at as number | null) ?? null,
    endReason: (r.end_reason as string | null) ?? null,
  };
}

/** Adds `column = ?` to `where` (and its value to `args`) for each column given a value; the names are the caller's constants. */
function whereEqual(where: string[], args: unknown[], columns: Record<string, unknown>): void {
  for (const [column, value] of Object.entries(columns)) {
    if (value === undefined) continue;
    where.push(`${column} = ?`);
    args.push(value);
  }
}
