/**
 * Versioned schema migrations, applied in order, each once, inside a transaction.
 * Never edit a migration that has shipped: add a new one.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'releases, rollouts, current release, events',
    sql: `
      CREATE TABLE releases (
        environment TEXT NOT NULL,
        service TEXT NOT NULL,
        number INTEGER NOT NULL,
        digest TEXT NOT NULL,
        config_hash TEXT NOT NULL,
        spec_json TEXT NOT NULL,
        message TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        pruned_at INTEGER,
        rollback_of INTEGER,
        PRIMARY KEY (environment, service, number)
      );
      CREATE TABLE current_release (
        environment TEXT NOT NULL,
        service TEXT NOT NULL,
        number INTEGER,
        PRIMARY KEY (environment, service)
      );
      CREATE TABLE rollouts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        environment TEXT NOT NULL,
        service TEXT NOT NULL,
        kind TEXT NOT NULL,
        from_release INTEGER,
        to_release INTEGER NOT NULL,
        target_release INTEGER NOT NULL,
        phase TEXT NOT NULL,
        reason TEXT NOT NULL,
        message TEXT NOT NULL,
        progress_json TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        finished_at INTEGER,
        active INTEGER NOT NULL
      );
      -- At most one active rollout per service and environment, enforced by the database itself.
      CREATE UNIQUE INDEX rollouts_one_active ON rollouts (environment, service) WHERE active = 1;
      CREATE INDEX rollouts_by_service ON rollouts (environment, service, id);
      CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        environment TEXT NOT NULL,
        service TEXT,
        rollout_id INTEGER,
        type TEXT NOT NULL,
        message TEXT NOT NULL,
        data_json TEXT NOT NULL
      );
      CREATE INDEX events_by_service ON events (environment, service, id);
    `,
  },
  {
    version: 2,
    name: 'releases keep their secrets (age ciphertexts and their hash)',
    sql: `ALTER TABLE releases ADD COLUMN secrets_json TEXT;`,
  },
  {
    version: 3,
    name: 'release evidence',
    sql: `
      -- What a release promoted from another environment proved there (slipway ship, ADR 0018).
      CREATE TABLE release_evidence (
        environment TEXT NOT NULL,
        service TEXT NOT NULL,
        number INTEGER NOT NULL,
        evidence_json TEXT NOT NULL,
        PRIMARY KEY (environment, service, number)
      );
    `,
  },
  {
    version: 4,
    name: 'API tokens and the audit log',
    sql: `
      -- Bearer tokens of the controller's API (ADR 0024): only the SHA-256 of a token is kept.
      CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        environments_json TEXT,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER
      );
      -- A name is one live token: revoked ones keep theirs in the audit log.
      CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;
      -- Who changed what: append-only, enforced here (no UPDATE, no DELETE) and not only in code.
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        environment TEXT,
        service TEXT,
        before_json TEXT,
        after_json TEXT,
        reason TEXT NOT NULL,
        outcome TEXT NOT NULL
      );
      CREATE INDEX audit_log_by_time ON audit_log (at);
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    `,
  },
  {
    version: 5,
    name: 'feature flag versions',
    sql: `
      -- Every run-time change of a flag (docs/flags.md): the patch over slipway.yaml from then on,
      -- the effective state before and after, who, when and why. The newest version is in force.
      CREATE TABLE flag_versions (
        environment TEXT NOT NULL,
        flag TEXT NOT NULL,
        version INTEGER NOT NULL,
        action TEXT NOT NULL,
        patch_json TEXT NOT NULL,
        before_json TEXT NOT NULL,
        after_json TEXT NOT NULL,
        changed_by TEXT NOT NULL,
        changed_at INTEGER NOT NULL,
        reason TEXT NOT NULL,
        revert_of INTEGER,
        PRIMARY KEY (environment, flag, version)
      );
    `,
  },
  {
    version: 6,
    name: 'release images',
    sql: `
      -- The image a container release runs, pinned by digest (docs/adr/0022-container-releases.md).
      CREATE TABLE release_images (
        environment TEXT NOT NULL,
        service TEXT NOT NULL,
        number INTEGER NOT NULL,
        image_json TEXT NOT NULL,
        PRIMARY KEY (environment, service, number)
      );
    `,
  },
  // 7 and 8 are taken by other branches of this release; the runner applies whatever is missing, in order.
  {
    version: 9,
    name: 'feature flag ramps',
    sql: `
      -- A flag's ramp schedule (slipway flags ramp, docs/flags.md): its steps with when each is due
      -- and when it was applied, so that the controller applies each step once, on time or at its
      -- next start. At most one active ramp per flag and environment.
      CREATE TABLE flag_ramps (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        environment TEXT NOT NULL,
        flag TEXT NOT NULL,
        schedule TEXT NOT NULL,
        steps_json TEXT NOT NULL,
        state TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        reason TEXT NOT NULL,
        ended_at INTEGER,
        end_reason TEXT
      );
      CREATE UNIQUE INDEX flag_ramps_one_active ON flag_ramps (environment, flag) WHERE state = 'active';
    `,
  },
];
