/**
 * The controller's durable state: releases, rollouts, which release serves, events.
 * SQLite is the embedded default (sqlite-store.ts); every implementation passes
 * the shared suite in store-contract.ts. Methods are async so that a networked
 * implementation (PostgreSQL) fits the same interface.
 */
import type { ApiToken, AuditEntry, NewApiToken, NewAuditEntry } from './access-types.js';
import type { FlagRamp, FlagVersion, NewFlagRamp, NewFlagVersion } from './flag-types.js';
import type { EventRecord, NewEvent, NewRelease, Release, ReleaseOutcome, Rollout } from './types.js';

export interface Store {
  /**
   * Checks the stored state is sound and applies pending migrations. Safe to call on every start.
   * Throws `unavailable` STATE_DB_CORRUPT (fails its integrity check, or is not a database) or
   * STATE_DB_SCHEMA (a database, but not with the schema its recorded migrations promise), and
   * `invalid` STORE_TOO_NEW.
   */
  migrate(): Promise<void>;

  /** Records a new release with the next number for its service and environment. */
  createRelease(release: NewRelease): Promise<Release>;
  /** undefined when no such release. */
  getRelease(environment: string, service: string, number: number): Promise<Release | undefined>;
  /** Newest first. */
  listReleases(environment: string, service: string, limit?: number): Promise<Release[]>;
  setReleaseOutcome(environment: string, service: string, number: number, outcome: ReleaseOutcome): Promise<void>;
  markReleasePruned(environment: string, service: string, number: number, at: number): Promise<void>;

  /** Services that have at least one release in the environment. */
  listServices(environment: string): Promise<string[]>;
  /** Environments that have at least one release. */
  listEnvironments(): Promise<string[]>;

  /** The release that serves (or should serve) the service, or null before the first deploy. */
  getCurrentRelease(environment: string, service: string): Promise<number | null>;
  setCurrentRelease(environment: string, service: string, number: number | null): Promise<void>;

  /**
   * Creates a rollout unless one is already active (not in a terminal phase) for the same
   * service and environment; then throws a `conflict` SlipwayError (ROLLOUT_IN_PROGRESS) naming it.
   */
  createRollout(rollout: Omit<Rollout, 'id' | 'updatedAt' | 'finishedAt'>): Promise<Rollout>;
  getRollout(id: number): Promise<Rollout | undefined>;
  /** The active (non-terminal) rollout of a service, if any. */
  activeRollout(environment: string, service: string): Promise<Rollout | undefined>;
  /** All active rollouts, for resuming after a restart. */
  activeRollouts(): Promise<Rollout[]>;
  /** Newest first. */
  listRollouts(environment: string, service: string, limit?: number): Promise<Rollout[]>;
  updateRollout(
    id: number,
    patch: Partial<Pick<Rollout, 'phase' | 'reason' | 'message' | 'progress' | 'targetRelease' | 'finishedAt'>>,
    now: number,
  ): Promise<Rollout>;

  /** Events are append-only. */
  appendEvent(event: NewEvent): Promise<EventRecord>;
  /** Oldest first, after the given id. */
  listEvents(filter: {
    environment?: string;
    service?: string;
    rolloutId?: number;
    afterId?: number;
    limit?: number;
  }): Promise<EventRecord[]>;

  /** The id of the newest event and of the newest audit entry (0 when none): where a reader of what happens next starts. */
  lastIds(): Promise<{ event: number; audit: number }>;

  /** Records a token (its hash); throws `conflict` TOKEN_NAME_TAKEN when a live token has the name. */
  createToken(token: NewApiToken): Promise<ApiToken>;
  /** The token whose value hashes to `hash`, revoked and expired ones included (the caller judges). */
  findToken(hash: string): Promise<ApiToken | undefined>;
  /** Oldest first, revoked ones included. */
  listTokens(): Promise<ApiToken[]>;
  /** Marks it revoked; undefined when no live token has this id. */
  revokeToken(id: number, at: number): Promise<ApiToken | undefined>;

  /** The audit log is append-only: the store refuses to change or delete an entry. */
  appendAudit(entry: NewAuditEntry): Promise<AuditEntry>;
  /** Oldest first: the newest `limit` entries, or with `afterId` the oldest `limit` after that id. */
  listAudit(filter: { since?: number; afterId?: number; environment?: string; service?: string; limit?: number }): Promise<AuditEntry[]>;
  /** Records a flag change as the flag's next version (1 for its first change). */
  appendFlagVersion(version: NewFlagVersion): Promise<FlagVersion>;
  /** One flag's versions, newest first. */
  listFlagVersions(environment: string, flag: string, limit?: number): Promise<FlagVersion[]>;
  /** The newest version of every flag changed at run time in the environment. */
  currentFlagVersions(environment: string): Promise<FlagVersion[]>;
  /** Records a new active ramp. @throws SlipwayError FLAG_RAMP_ACTIVE when the flag has one already. */
  createFlagRamp(ramp: NewFlagRamp): Promise<FlagRamp>;
  /** Saves a ramp's steps (as applied) and, when it ends, its state and why. */
  updateFlagRamp(id: number, update: Pick<FlagRamp, 'steps'> & Partial<Pick<FlagRamp, 'state' | 'endedAt' | 'endReason'>>): Promise<void>;
  /** Ramps, newest first: the active ones (every environment, or one), or one flag's. */
  listFlagRamps(filter: { environment?: string; flag?: string; state?: FlagRamp['state']; limit?: number }): Promise<FlagRamp[]>;

  /**
   * Writes a consistent copy of the whole store to `destination` (a file that must not exist yet)
   * while the store stays in use. Absent when the store cannot do it itself (a networked store is
   * backed up with its own tools).
   */
  backup?(destination: string): Promise<void>;

  close(): Promise<void>;
}
