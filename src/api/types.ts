/**
 * Request and response types of the controller's HTTP API, shared by the server, the client
 * and the CLI. Every read endpoint returns one of these as JSON; errors are `ErrorBody`.
 */
import type { DiskUsage } from '../artifact/artifact-store.js';
import type { BuildStep } from '../artifact/build.js';
import type { ExitInfo, InstanceState } from '../drivers/driver.js';
import type { EventRecord, PromotionEvidence, ReleaseOutcome, RolloutPhase } from '../store/types.js';
import type { PolicyViolation } from '../policy/evaluate.js';
import type { ApprovalState } from '../rollout/types.js';

export interface InstanceView {
  id: string;
  release: number;
  state: InstanceState;
  healthy: boolean;
  /** Taken out of traffic, draining or stopping. */
  retiring: boolean;
  pid: number | null;
  port: number;
  restarts: number;
  startedAt: number;
  lastExit: ExitInfo | null;
  /** When the driver restarts it next (`restarting`, or `failed` and healing with backoff); null when not planned. */
  nextRestartAt?: number | null;
  lastProbe: string | null;
  /** Last log lines of a failed instance. */
  logTail?: string[];
  /** The host it runs on, in an environment whose target is ssh (docs/servers.md). */
  host?: string;
}

/** One host of an ssh environment, for one service: what its router serves and how it is. */
export interface HostView {
  host: string;
  /** Its agent answered (over SSH) just now. */
  reachable: boolean;
  /** The release the host's router sends this service's traffic to; null when none. */
  release: number | null;
  /** Running instances of that release behind the host's router. */
  serving: number;
  /** `healthy`: `desired` instances of the current release serve; `degraded`: fewer or another release; `down`: none or unreachable. */
  health: 'healthy' | 'degraded' | 'down';
  /** Why it is unreachable or degraded. */
  problem?: string;
  /**
   * A host of the idle group (blue-green between two host groups behind HAProxy, docs/servers.md):
   * it runs nothing of this service on purpose, until the next release comes up on it; not counted
   * in the service's health.
   */
  idle?: boolean;
  /** Since when (ms since the epoch) the host has been reachable, or unreachable: as the controller saw it. */
  since?: number;
  /**
   * What the host served when the controller last reached it (an unreachable host only): stale,
   * kept so an operator sees what was there; `at` is when it was seen.
   */
  lastKnown?: { release: number | null; serving: number; at: number };
  /** What runs the instances it serves: processes, or containers with podman or docker (the host's choice: podman when it has both). */
  runtime?: 'process' | 'podman' | 'docker';
}

export interface RolloutView {
  id: number;
  /** restart: new instances of the same release; scale: a new instance count for it. */
  kind: 'deploy' | 'rollback' | 'restart' | 'scale';
  fromRelease: number | null;
  toRelease: number;
  targetRelease: number;
  phase: RolloutPhase;
  reason: string;
  message: string;
  desired: number | null;
  ready: number | null;
  startedAt: number;
  finishedAt: number | null;
  /** Strategy of the release rolled out. */
  strategy: string;
  /** Canary: current step (0-based; equal to `steps` while promoting to 100%), number of steps, canary weight in percent. */
  step?: number;
  steps?: number;
  weight?: number;
  /** Blue-green: Preview, PrePromotion, AwaitingPromotion or Promoted. */
  stage?: string;
  /** Blue-green with a previewPort: where the new release answers before the switch. */
  previewUrl?: string;
  /** Requests from people not yet acted on. */
  requests?: Record<string, unknown>;
  /** When its environment requires approval: pending (with the command that approves), or who decided, why and when. */
  approval?: ApprovalView;
  /** Answering a rollback: policies in warn mode it violated (it went ahead; each is recorded as a policy.warned event). */
  policyWarnings?: PolicyViolation[];
  analysis: AnalysisView[];
}

/** A deploy's approval as the rollout keeps it (rollout/types.ts). */
export type ApprovalView = ApprovalState;

/** One analysis run of a rollout, with the numbers of its latest measurement. */
export interface AnalysisView {
  key: string;
  check: string;
  phase: 'Running' | 'Successful' | 'Failed' | 'Inconclusive' | 'Error';
  reason: string;
  counts: { passed: number; failed: number; inconclusive: number; errors: number };
  last: { at: number; verdict: string; reason: string; numbers: Record<string, number> } | null;
}

export interface TrafficView {
  release: number;
  /** Instances receiving new requests. */
  backends: number;
  /** Share of new requests, 0 to 1. */
  share: number;
  /** Requests answered since the router started, by status class. */
  requests: number;
  errors5xx: number;
}

/** `Healthy`: all desired instances healthy; `Degraded`: serving with fewer; `Down`: nothing serves. */
export type ServiceHealth = 'Healthy' | 'Progressing' | 'Degraded' | 'Down' | 'NotDeployed';

export interface ServiceStatus {
  service: string;
  url: string;
  health: ServiceHealth;
  currentRelease: number | null;
  desired: number;
  /**
   * Set when `slipway scale` changed the serving release's count from what its config says;
   * `rolloutId`: the scale (or a later restart that kept the count).
   */
  scaled?: { instances: number; configured: number; rolloutId: number };
  rollout: RolloutView | null;
  instances: InstanceView[];
  traffic: TrafficView[];
  /** Whether slipway.yaml (and the source's build) still describe what serves; absent from older controllers. */
  drift?: DriftView;
  /**
   * What runs the serving release: `process` (a `source:` artifact) or `podman` (an `image:`, with
   * the reference it runs by digest and whether only this machine's store has it). Absent from older controllers.
   */
  runtime?: { kind: 'process' | 'podman'; image?: string; where?: 'registry' | 'local' };
  /** In an environment whose target is ssh: each host, with the release it serves and its health. */
  hosts?: HostView[];
}

/**
 * slipway.yaml and the source on disk compared with the release that serves.
 * - `unchanged`: `slipway up` would do nothing.
 * - `changed`: the config or the source's build differs; `slipway up` deploys it.
 * - `rolled-back`: they describe a newer release that was rolled back; `slipway up` leaves it alone.
 * - `not-deployed`: in slipway.yaml but never deployed. `removed`: serving but gone from slipway.yaml.
 * - `unknown`: slipway.yaml cannot be read (the message says why).
 */
export interface DriftView {
  state: 'unchanged' | 'changed' | 'rolled-back' | 'not-deployed' | 'removed' | 'unknown';
  /** What differs from the serving release: its config, its source (null: not known until built). */
  config: boolean;
  source: boolean | null;
  /** A secret the serving release uses was set to another value or removed since (docs/secrets.md). */
  secrets?: boolean;
  /** The release that serves, and the config hashes compared. */
  servingRelease: number | null;
  servingConfigHash: string | null;
  configHash: string | null;
  /** The release slipway.yaml and the source describe, when one was built from them already. */
  describes: number | null;
  /** One sentence for people, ending with what to do. */
  message: string;
}

/** The router's processes as the controller sees them (ADR 0006). */
export interface RouterView {
  /** The router answers its health check. */
  up: boolean;
  /** The supervisor's pid (owns the listening sockets); null when the router does not answer. */
  pid: number | null;
  /** The proxy worker's pid. */
  workerPid: number | null;
  /** Times the controller started the router again after it died (since the controller started). */
  restarts: number;
  /** Times the supervisor replaced a dead proxy worker (since the router started). */
  workerRestarts: number;
  /** The latest problem (with its ISO time), of the controller's or the router's; null if none. */
  lastProblem: string | null;
  /** Saved routes the router could not listen for. */
  routeProblems: string[];
}

export interface StatusResponse {
  app: string;
  environment: string;
  /** `metrics`: where Prometheus scrapes the controller (with the API token as bearer credentials). */
  controller: { pid: number; startedAt: number; metrics?: string };
  router: RouterView;
  services: ServiceStatus[];
  /** Disk used by artifacts, the file store, releases and caches (kept counts: no tree is walked). */
  disk?: DiskUsage;
}

export interface ReleaseView {
  number: number;
  digest: string;
  configHash: string;
  message: string;
  createdBy: string;
  createdAt: number;
  outcome: ReleaseOutcome;
  current: boolean;
  pruned: boolean;
  rollbackOf: number | null;
  /** Names of the secrets the release runs with (never values). */
  secrets: string[];
  /** Keyed hash of the release's secret values (`hmac-sha256:…`, reveals nothing); null without secrets. */
  secretsHash: string | null;
  /** A release shipped from another environment: what it proved there (`slipway ship`). */
  evidence?: PromotionEvidence;
}

export interface HistoryResponse {
  service: string;
  /** The environment whose releases and rollouts these are. */
  environment: string;
  releases: ReleaseView[];
  rollouts: RolloutView[];
}

export interface DeployRequest {
  message?: string;
  by?: string;
  /** Only create a release when the built artifact or the config differs from the current release. */
  onlyIfChanged?: boolean;
  /** Go through a closed deployment window; `reason` is then required and recorded as an event. */
  override?: boolean;
  reason?: string;
  /** Do not restore the service's build cache (`deploy --no-cache`). */
  noCache?: boolean;
}

export interface DeployResponse {
  service: string;
  release: number;
  /** null when nothing changed (onlyIfChanged). */
  rolloutId: number | null;
  digest: string;
  /** The build's steps and how long each took (cache hits included). */
  buildSteps?: BuildStep[];
  buildLog: string[];
  /** Why nothing was rolled out, when rolloutId is null for another reason than "nothing changed". */
  note?: string;
  /** Set when the rollout waits for approval: the command that approves it. */
  approval?: { command: string };
  /** Set when a closed deployment window was overridden (recorded as an event). */
  overridden?: { window: string; reason: string };
  /** Policies in warn mode that the deploy violated (it went ahead; each is recorded as a policy.warned event). */
  policyWarnings?: PolicyViolation[];
}

/** `POST /v1/approvals`: a person's decision on a deploy waiting in AwaitingApproval. */
export interface ApprovalRequest {
  /** A rollout id ("12"), or a service whose rollout waits. */
  target: string;
  verdict: 'approve' | 'reject';
  /** Why; required to reject. */
  comment?: string;
  /** Who decides (the CLI sends the OS user). @default "unknown" */
  by?: string;
}

/** `slipway ship`: promote the release that succeeded in `from` to the environment of the request. */
export interface ShipRequest {
  /** Source environment; default: the target's only `requires:` entry. */
  from?: string;
  /** Release number in the source; default: the source's current release. */
  release?: number;
  message?: string;
  by?: string;
  /** Go through a closed deployment window of the target; `reason` is then required and recorded. */
  override?: boolean;
  reason?: string;
}

export interface ShipResponse extends DeployResponse {
  evidence: PromotionEvidence;
}

export interface RollbackRequest {
  /** Release number to go back to; default: the release before the current one that served. */
  to?: number;
  message?: string;
  by?: string;
}

/** `POST /v1/apply`: `slipway up` (no services), or `slipway deploy a b` (services, force). */
export interface ApplyRequest {
  by?: string;
  /** Only these services (default: every service of the config). */
  services?: string[];
  /** Deploy even when the build and config equal what serves. */
  force?: boolean;
  message?: string;
}

/** A service `slipway up` did not deploy because a dependency (dependsOn) failed or was skipped. */
export interface SkippedDeploy {
  service: string;
  reason: string;
}

export interface ApplyResponse {
  deploys: DeployResponse[];
  /** Services not deployed because a dependency failed (dependsOn); absent when none. */
  skipped?: SkippedDeploy[];
  /** What the controller found broken and repaired (e.g. a dead router started again). */
  repaired?: string[];
}

export interface RestartRequest {
  message?: string;
  by?: string;
}

export interface ScaleRequest {
  /** 0 to 100. */
  instances: number;
  message?: string;
  by?: string;
}

export interface ScaleResponse {
  service: string;
  release: number;
  instances: number;
  /** The count before. */
  was: number;
  /** What slipway.yaml (the release's config) says. */
  configured: number;
  /** null when the release already runs that many. */
  rollout: RolloutView | null;
}

/** Where and with which environment `slipway exec` runs a command: as an instance of the serving release, without PORT. */
export interface ExecContextResponse {
  service: string;
  release: number;
  /** The release's extracted artifact, the instances' working directory. */
  dir: string;
  /** The service's env and the SLIPWAY_* variables (added to the caller's own environment). */
  env: Record<string, string>;
  /**
   * The release's secrets as age ciphertexts (never plaintext on the API): the CLI decrypts them
   * with its own key. Null when the release has none.
   */
  secrets: { app: string; environment: string; values: Record<string, string> } | null;
}

export interface PromoteRequest {
  full?: boolean;
}
export interface AbortRequest {
  reason?: string;
  by?: string;
}

export interface EventsResponse {
  events: EventRecord[];
}

export interface RolloutResponse {
  rollout: RolloutView;
  service: ServiceStatus;
}

/** One line of `GET /v1/services/:name/logs` (NDJSON, one object per line). */
export interface LogLine {
  instance: string;
  release: number;
  stream: 'stdout' | 'stderr';
  /** When the line was captured: ISO 8601 UTC with microseconds; null for lines stored without a time (older Slipway). */
  at: string | null;
  line: string;
  /** The host that wrote it (environments whose target is ssh; absent for this machine's instances). */
  host?: string;
}

/**
 * A line of `GET /v1/services/:name/logs` that is not a log line (ssh environments): a host whose
 * lines are missing because it could not be read (`problem`), or whose lines follow again
 * (`problem: null`, while following). Sent once per change.
 */
export interface LogHostNotice {
  host: string;
  problem: { code: string; message: string } | null;
}

/** `POST /v1/plan`: what a deploy of each service would change, without building a release or starting anything. */
export interface PlanRequest {
  /** @default every service of slipway.yaml */
  services?: string[];
}

export interface PlanResponse {
  app: string;
  environment: string;
  /** When the plan was made (ISO 8601), as the gates judged it. */
  at: string;
  /** The order a deploy of these services goes in (dependencies first, once `dependsOn` exists). */
  order: string[];
  services: ServicePlan[];
  /** How many services a deploy would change (`--detailed-exitcode`: 2 when above 0). */
  changes: number;
}

/**
 * One service's plan. `action`: `create` (never deployed), `update` (a new release: the artifact
 * or the config differs from the serving release), `none` (a deploy would change nothing).
 */
export interface ServicePlan {
  service: string;
  action: 'create' | 'update' | 'none';
  currentRelease: number | null;
  artifact: {
    /** The digest a deploy would build now (computed as deploy does; nothing stored). */
    digest: string;
    serving: string | null;
    changed: boolean;
    /** `known`: the source was built before (its fingerprint recorded); `built`: built now in a temporary directory. */
    how: 'known' | 'built';
  };
  /** Per-key differences from the serving release's config; values of secrets masked. */
  config: { key: string; from: string | null; to: string | null; secret?: boolean }[];
  instances: { from: number | null; to: number };
  strategy: { from: string | null; to: string; summary: string };
  /** Services this one is deployed after (`dependsOn`); empty until then. */
  dependsOn: string[];
  /** The gates a deploy of this service passes through now. */
  gates: PlanGate[];
  /** Things worth knowing: a rollout in progress, a release that was rolled back. */
  notes: string[];
}

export type PlanGate =
  | { kind: 'approval'; required: boolean; message: string }
  /** A policy the deploy would violate now: `enforce` refuses it, `warn` lets it through with a warning. */
  | { kind: 'policy'; policy: string; mode: 'enforce' | 'warn' | 'audit'; message: string }
  | {
      kind: 'window';
      open: boolean;
      message: string;
      timezone: string;
      /** The deny window that closes it now, as written. */
      deniedBy: string | null;
      /** ISO 8601 (UTC) and in the window's zone; null when never within a year. */
      nextAllowed: string | null;
      nextAllowedLocal: string | null;
      /** While open: when it next closes (ISO 8601), or null. */
      closesAt: string | null;
    };
