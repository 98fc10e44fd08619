/** Records kept by the store. Timestamps are milliseconds since the epoch. */
import type { ServiceConfig } from '../config/schema.js';
import type { ReleaseSecrets } from '../secrets/release-secrets.js';

/** What became of a release. `live`: serving now; `superseded`: served before; `failed`: its rollout failed. */
export type ReleaseOutcome = 'pending' | 'live' | 'superseded' | 'failed';

export interface Release {
  environment: string;
  service: string;
  /** 1, 2, 3… per service and environment. */
  number: number;
  /** "sha256:<hex>" of the packaged artifact. */
  digest: string;
  /** sha256 of the service's resolved config: two releases with the same digest and config hash run the same thing. */
  configHash: string;
  /** The service's config as it was at deploy time: a rollback runs exactly this again. */
  spec: ServiceConfig;
  message: string;
  createdBy: string;
  createdAt: number;
  outcome: ReleaseOutcome;
  /** Set once the artifact has been removed by retention; such a release cannot be rolled back to. */
  prunedAt: number | null;
  /** Release this one was rolled back to, or came from (for `slipway history`). */
  rollbackOf: number | null;
  /**
   * The service's secrets as deployed: age ciphertexts and their keyed hash (never plaintext).
   * Null or absent when the service declares none.
   */
  secrets?: ReleaseSecrets | null;
  /** Set on a release of a service with `image:`: the image it runs, pinned by digest (then `digest` is the image's). */
  image?: ReleaseImage;
  /** Set on a release promoted from another environment (`slipway ship`): what it proved there. */
  evidence?: PromotionEvidence;
}

/** The image of a container release (docs/adr/0022-container-releases.md). */
export interface ReleaseImage {
  /** What instances run: `repo@sha256:…` (a registry digest), or a local image id (no registry). */
  ref: string;
  /**
   * `registry`: pushed to (or resolved in) a registry, pullable by digest anywhere; `local`: built
   * without a registry: only this machine's podman store has it, identified by its image id.
   */
  where: 'registry' | 'local';
  /** What the config said: `build <context>` or the reference as written (a tag moves; the digest does not). */
  from: string;
  /** The local image id (`sha256:…`, the config's digest) of an image built here: the same context builds the same id. */
  id?: string;
}

/** Why a promoted release may run here: the same artifact succeeded in another environment. */
export interface PromotionEvidence {
  /** The environment it succeeded in, and its release number there. */
  environment: string;
  release: number;
  digest: string;
  /** When its rollout there ended Healthy, and which rollout that was. */
  succeededAt: number;
  rolloutId: number;
  /** Gates passed on the way (e.g. "requires: staging"); approvals and policies add theirs. */
  checks: string[];
}

export type NewRelease = Omit<Release, 'number' | 'createdAt' | 'outcome' | 'prunedAt'> & {
  createdAt?: number;
  /**
   * The lowest number the release may get. After a restore from an older backup, instances may
   * still run under numbers the store no longer knows; a new release must not take one of those.
   * @default 1
   */
  atLeast?: number;
};

/**
 * Phases of a rollout, as DESIGN.md names them. `AwaitingApproval`: a deploy to an environment
 * that requires approval, waiting for `slipway approve` before anything starts (rollout/approval.ts).
 */
export type RolloutPhase = 'AwaitingApproval' | 'Progressing' | 'Paused' | 'Healthy' | 'Degraded' | 'RolledBack' | 'Failed';

/**
 * `deploy` and `rollback` change the serving release; `restart` replaces the serving release's
 * instances with new ones of the same release; `scale` changes how many it runs (rollout/maintenance.ts).
 */
export type RolloutKind = 'deploy' | 'rollback' | 'restart' | 'scale';

export const TERMINAL_PHASES: readonly RolloutPhase[] = ['Healthy', 'RolledBack', 'Failed'];

export interface Rollout {
  id: number;
  environment: string;
  service: string;
  kind: RolloutKind;
  /** Release serving before the rollout (null for the first deploy). */
  fromRelease: number | null;
  /** Release being rolled out. */
  toRelease: number;
  /** Release the engine currently converges to: toRelease, or fromRelease once the rollout is being undone. */
  targetRelease: number;
  phase: RolloutPhase;
  /** Short machine reason, e.g. "ProgressDeadlineExceeded", "CrashLoop". */
  reason: string;
  /** Human message: what happened and what to do. */
  message: string;
  /** Strategy-specific progress (JSON). */
  progress: Record<string, unknown>;
  startedAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

export interface EventRecord {
  id: number;
  at: number;
  environment: string;
  service: string | null;
  rolloutId: number | null;
  /** Dotted type such as "rollout.started", "instance.failed", "traffic.shifted". */
  type: string;
  message: string;
  data: Record<string, unknown>;
}

export type NewEvent = Omit<EventRecord, 'id' | 'at'> & { at?: number };
