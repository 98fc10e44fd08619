/**
 * The controller API's request and response shapes as zod schemas (ADR 0027): the route table
 * attaches them to its entries (route.ts `doc`), the server checks every request's query and body
 * against them, and openapi.ts builds `GET /v1/openapi.json` from them. The TypeScript types the
 * CLI and the dashboard use (types.ts, access-types.ts) are checked against these at compile time
 * (the `Conforms` lines at the end): a field added to one and not the other does not build.
 *
 * Responses are described exactly (no field the document does not name); parts whose shape is
 * owned and documented elsewhere (an audit entry's before/after, a flag's rules) are `unknown`.
 */
import { z } from 'zod';
import type * as T from './types.js';
import type * as A from './access-types.js';
import type { EventRecord } from '../store/types.js';
import type { ErrorBody } from '../core/errors.js';
import type * as D from './dashboard-types.js';
import type { FlagRamp } from '../store/flag-types.js';
import type { FlagRampRequest } from './flag-routes.js';

/** The registry the document's `components.schemas` come from: every schema with an `id`. */
export const apiRegistry = z.registry<{ id: string; description?: string }>();
const named = <S extends z.ZodType>(id: string, schema: S, description?: string): S => {
  apiRegistry.add(schema, { id, ...(description ? { description } : {}) });
  return schema;
};

const ms = z.number().describe('milliseconds since the epoch');
const int = z.number().int();

export const ErrorBodySchema = named(
  'Error',
  z.object({
    error: z.object({
      kind: z.enum(['invalid', 'not-found', 'conflict', 'unauthorized', 'forbidden', 'unavailable', 'failed', 'internal']),
      code: z.string().describe('stable code, listed in docs/errors.md'),
      message: z.string(),
      hint: z.string().optional().describe('what to do next'),
      details: z.unknown().optional(),
    }),
  }),
  'Every error: its kind decides the HTTP status, its code names the problem (docs/errors.md).',
);

const ExitInfo = named('ExitInfo', z.object({ code: int.nullable(), signal: z.string().nullable(), at: ms, uptimeMs: z.number() }));

export const InstanceViewSchema = named(
  'Instance',
  z.object({
    id: z.string(),
    release: int,
    state: z.enum(['running', 'restarting', 'failed', 'stopped']),
    healthy: z.boolean(),
    retiring: z.boolean(),
    pid: int.nullable(),
    port: int,
    restarts: int,
    startedAt: ms,
    lastExit: ExitInfo.nullable(),
    nextRestartAt: ms.nullable().optional(),
    lastProbe: z.string().nullable(),
    logTail: z.array(z.string()).optional(),
  }),
);

const AnalysisView = named(
  'AnalysisRun',
  z.object({
    key: z.string(),
    check: z.string(),
    phase: z.enum(['Running', 'Successful', 'Failed', 'Inconclusive', 'Error']),
    reason: z.string(),
    counts: z.object({ passed: int, failed: int, inconclusive: int, errors: int }),
    last: z.object({ at: ms, verdict: z.string(), reason: z.string(), numbers: z.record(z.string(), z.number()) }).nullable(),
  }),
);

const PolicyViolation = named(
  'PolicyViolation',
  z.object({ policy: z.string(), mode: z.enum(['enforce', 'warn', 'audit']), message: z.string(), error: z.string().optional() }),
);

const RolloutPhase = z.enum(['AwaitingApproval', 'Progressing', 'Paused', 'Healthy', 'Degraded', 'RolledBack', 'Failed']);

export const RolloutViewSchema = named(
  'Rollout',
  z.object({
    id: int,
    kind: z.enum(['deploy', 'rollback', 'restart', 'scale']),
    fromRelease: int.nullable(),
    toRelease: int,
    targetRelease: int,
    phase: RolloutPhase,
    reason: z.string(),
    message: z.string(),
    desired: int.nullable(),
    ready: int.nullable(),
    startedAt: ms,
    finishedAt: ms.nullable(),
    strategy: z.string(),
    step: int.optional(),
    steps: int.optional(),
    weight: z.number().optional(),
    stage: z.string().optional(),
    previewUrl: z.string().optional(),
    requests: z.record(z.string(), z.unknown()).optional(),
    approval: z
      .object({
        state: z.enum(['pending', 'approved', 'rejected']),
        command: z.string(),
        requestedAt: ms,
        by: z.string().optional(),
        comment: z.string().optional(),
        at: ms.optional(),
      })
      .optional(),
    policyWarnings: z.array(PolicyViolation).optional(),
    analysis: z.array(AnalysisView),
  }),
);

const TrafficView = named(
  'Traffic',
  z.object({ release: int, backends: int, share: z.number(), requests: z.number(), errors5xx: z.number() }),
);

const DriftView = named(
  'Drift',
  z.object({
    state: z.enum(['unchanged', 'changed', 'rolled-back', 'not-deployed', 'removed', 'unknown']),
    config: z.boolean(),
    source: z.boolean().nullable(),
    secrets: z.boolean().optional(),
    servingRelease: int.nullable(),
    servingConfigHash: z.string().nullable(),
    configHash: z.string().nullable(),
    describes: int.nullable(),
    message: z.string(),
  }),
);

export const ServiceStatusSchema = named(
  'ServiceStatus',
  z.object({
    service: z.string(),
    url: z.string(),
    health: z.enum(['Healthy', 'Progressing', 'Degraded', 'Down', 'NotDeployed']),
    currentRelease: int.nullable(),
    desired: int,
    scaled: z.object({ instances: int, configured: int, rolloutId: int }).optional(),
    rollout: RolloutViewSchema.nullable(),
    instances: z.array(InstanceViewSchema),
    traffic: z.array(TrafficView),
    drift: DriftView.optional(),
    runtime: z
      .object({ kind: z.enum(['process', 'podman']), image: z.string().optional(), where: z.enum(['registry', 'local']).optional() })
      .optional(),
  }),
);

const RouterView = named(
  'Router',
  z.object({
    up: z.boolean(),
    pid: int.nullable(),
    workerPid: int.nullable(),
    restarts: int,
    workerRestarts: int,
    lastProblem: z.string().nullable(),
    routeProblems: z.array(z.string()),
  }),
);

const counted = z.object({ count: int, bytes: z.number() });

export const StatusResponseSchema = named(
  'Status',
  z.object({
    app: z.string(),
    environment: z.string(),
    controller: z.object({ pid: int, startedAt: ms, metrics: z.string().optional() }),
    router: RouterView,
    services: z.array(ServiceStatusSchema),
    disk: z.object({ artifacts: counted, files: counted, releases: counted, caches: z.object({ bytes: z.number() }) }).optional(),
  }),
);

const PromotionEvidence = named(
  'PromotionEvidence',
  z.object({
    environment: z.string(),
    release: int,
    digest: z.string(),
    succeededAt: ms,
    rolloutId: int,
    checks: z.array(z.string()),
  }),
);

const ReleaseView = named(
  'Release',
  z.object({
    number: int,
    digest: z.string(),
    configHash: z.string(),
    message: z.string(),
    createdBy: z.string(),
    createdAt: ms,
    outcome: z.enum(['pending', 'live', 'superseded', 'failed']),
    current: z.boolean(),
    pruned: z.boolean(),
    rollbackOf: int.nullable(),
    secrets: z.array(z.string()),
    secretsHash: z.string().nullable(),
    evidence: PromotionEvidence.optional(),
  }),
);

export const HistoryResponseSchema = named(
  'History',
  z.object({ service: z.string(), environment: z.string(), releases: z.array(ReleaseView), rollouts: z.array(RolloutViewSchema) }),
);

const BuildStep = z.object({
  name: z.enum(['list', 'copy', 'cache restore', 'build command', 'cache save', 'pack', 'store']),
  ms: z.number(),
  note: z.string().optional(),
});

const deployFields = {
  service: z.string(),
  release: int,
  rolloutId: int.nullable(),
  digest: z.string(),
  buildSteps: z.array(BuildStep).optional(),
  buildLog: z.array(z.string()),
  note: z.string().optional(),
  approval: z.object({ command: z.string() }).optional(),
  overridden: z.object({ window: z.string(), reason: z.string() }).optional(),
  policyWarnings: z.array(PolicyViolation).optional(),
};
export const DeployResponseSchema = named('Deploy', z.object(deployFields));
export const ShipResponseSchema = named('Ship', z.object({ ...deployFields, evidence: PromotionEvidence }));

export const ApplyResponseSchema = named(
  'Apply',
  z.object({
    deploys: z.array(DeployResponseSchema),
    skipped: z.array(z.object({ service: z.string(), reason: z.string() })).optional(),
    repaired: z.array(z.string()).optional(),
  }),
);

export const ScaleResponseSchema = named(
  'Scale',
  z.object({ service: z.string(), release: int, instances: int, was: int, configured: int, rollout: RolloutViewSchema.nullable() }),
);

export const ExecContextResponseSchema = named(
  'ExecContext',
  z.object({
    service: z.string(),
    release: int,
    dir: z.string(),
    env: z.record(z.string(), z.string()),
    secrets: z.object({ app: z.string(), environment: z.string(), values: z.record(z.string(), z.string()) }).nullable(),
  }),
);

export const EventRecordSchema = named(
  'Event',
  z.object({
    id: int,
    at: ms,
    environment: z.string(),
    service: z.string().nullable(),
    rolloutId: int.nullable(),
    type: z.string().describe('dotted, such as rollout.started, rollout.step, traffic.shifted, instance.failed, analysis.measurement'),
    message: z.string(),
    data: z.record(z.string(), z.unknown()),
  }),
);
export const EventsResponseSchema = named('Events', z.object({ events: z.array(EventRecordSchema) }));

export const RolloutResponseSchema = named('RolloutWithService', z.object({ rollout: RolloutViewSchema, service: ServiceStatusSchema }));

export const LogLineSchema = named(
  'LogLine',
  z.object({
    instance: z.string(),
    release: int,
    stream: z.enum(['stdout', 'stderr']),
    at: z.string().nullable(),
    line: z.string(),
    host: z.string().optional(),
  }),
  'One line of GET /v1/services/{service}/logs (NDJSON: one object per line); `host` on an ssh environment.',
);

export const LogHostNoticeSchema = named(
  'LogHostNotice',
  z.object({
    host: z.string(),
    problem: z.object({ code: z.string(), message: z.string() }).nullable(),
  }),
  'A line of GET /v1/services/{service}/logs on an ssh environment that is not a log line: a host whose lines are missing (problem), or follow again (problem null).',
);

const PlanGate = z.union([
  z.object({ kind: z.literal('approval'), required: z.boolean(), message: z.string() }),
  z.object({ kind: z.literal('policy'), policy: z.string(), mode: z.enum(['enforce', 'warn', 'audit']), message: z.string() }),
  z.object({
    kind: z.literal('window'),
    open: z.boolean(),
    message: z.string(),
    timezone: z.string(),
    deniedBy: z.string().nullable(),
    nextAllowed: z.string().nullable(),
    nextAllowedLocal: z.string().nullable(),
    closesAt: z.string().nullable(),
  }),
]);

export const PlanResponseSchema = named(
  'Plan',
  z.object({
    app: z.string(),
    environment: z.string(),
    at: z.string(),
    order: z.array(z.string()),
    services: z.array(
      z.object({
        service: z.string(),
        action: z.enum(['create', 'update', 'none']),
        currentRelease: int.nullable(),
        artifact: z.object({ digest: z.string(), serving: z.string().nullable(), changed: z.boolean(), how: z.enum(['known', 'built']) }),
        config: z.array(
          z.object({ key: z.string(), from: z.string().nullable(), to: z.string().nullable(), secret: z.boolean().optional() }),
        ),
        instances: z.object({ from: int.nullable(), to: int }),
        strategy: z.object({ from: z.string().nullable(), to: z.string(), summary: z.string() }),
        dependsOn: z.array(z.string()),
        gates: z.array(PlanGate),
        notes: z.array(z.string()),
      }),
    ),
    changes: int,
  }),
);

const Role = z.enum(['viewer', 'deployer', 'approver', 'admin']);
export const ApiTokenSchema = named(
  'Token',
  z.object({
    id: int,
    name: z.string(),
    role: Role,
    environments: z.array(z.string()).nullable(),
    createdBy: z.string(),
    createdAt: ms,
    expiresAt: ms.nullable(),
    revokedAt: ms.nullable(),
  }),
);
export const TokenCreateResponseSchema = named(
  'TokenCreated',
  z.object({ token: ApiTokenSchema, value: z.string().describe('the token itself: shown once, stored nowhere') }),
);
export const TokensResponseSchema = named('Tokens', z.object({ tokens: z.array(ApiTokenSchema) }));
export const TokenRevokeResponseSchema = z.object({ token: ApiTokenSchema });

export const AuditEntrySchema = named(
  'AuditEntry',
  z.object({
    id: int,
    at: ms,
    actor: z.string(),
    action: z.string(),
    environment: z.string().nullable(),
    service: z.string().nullable(),
    before: z.unknown(),
    after: z.unknown(),
    reason: z.string(),
    outcome: z.string().describe('"ok", or the code of the error that refused it'),
  }),
);
export const AuditResponseSchema = named('Audit', z.object({ entries: z.array(AuditEntrySchema) }));

export const WhoAmIResponseSchema = named(
  'WhoAmI',
  z.object({
    name: z.string(),
    role: Role,
    environments: z.array(z.string()).nullable().describe('the environments the token may act on; null: all'),
    visibleEnvironments: z.array(z.string()),
    defaultEnvironment: z.string().nullable(),
  }),
);
export const TrafficResponseSchema = named(
  'ServiceTraffic',
  z.object({
    service: z.string(),
    environment: z.string(),
    at: ms,
    bootId: z.string().nullable().describe("the router's id: counts restart from zero when it changes; null: the router does not answer"),
    bucketsMs: z.array(z.number()),
    pools: z.array(
      z.object({
        release: int,
        requests: int,
        errors5xx: int,
        latencyBuckets: z.array(int),
        latencySumMs: z.number(),
      }),
    ),
  }),
);

export const HealthResponseSchema = z.object({ ok: z.boolean(), pid: int });
export const ShutdownResponseSchema = z.object({ ok: z.boolean(), problems: z.array(z.string()) });

// Flags: the views are those of docs/flags.md; the state's rules and rollout are described there.
const FlagState = named(
  'FlagState',
  z.object({
    enabled: z.boolean(),
    rules: z.array(z.object({ if: z.string(), serve: z.unknown() })),
    rollout: z.object({ percent: z.number(), by: z.string() }),
  }),
);
export const FlagRampSchema = named(
  'FlagRamp',
  z.object({
    id: int,
    environment: z.string(),
    flag: z.string(),
    schedule: z.string().describe('as it was written, e.g. "10% now, 50% in 1h, 100% in 1d"'),
    steps: z.array(
      z.object({
        at: ms,
        percent: z.number(),
        appliedAt: ms.optional(),
        version: int.nullable().optional().describe('the flag version the step made (null: the flag already was so)'),
        skipped: z.boolean().optional().describe('a later step was already due when the controller got to it'),
      }),
    ),
    state: z.enum(['active', 'done', 'cancelled']),
    createdBy: z.string(),
    createdAt: ms,
    reason: z.string(),
    endedAt: ms.nullable(),
    endReason: z.string().nullable(),
  }),
);
export const FlagViewSchema = named(
  'Flag',
  z.object({
    key: z.string(),
    type: z.enum(['boolean', 'string', 'number', 'object']),
    description: z.string().optional(),
    default: z.unknown(),
    variants: z.record(z.string(), z.unknown()),
    environment: z.string(),
    state: FlagState,
    file: FlagState,
    differs: z.array(z.enum(['enabled', 'rules', 'rollout'])),
    version: int,
    changedBy: z.string().optional(),
    changedAt: ms.optional(),
    reason: z.string().optional(),
    ramp: FlagRampSchema.optional().describe('the ramp the flag follows, with its pending steps'),
  }),
);
const FlagVersion = named(
  'FlagVersion',
  z.object({
    environment: z.string(),
    flag: z.string(),
    version: int,
    action: z.enum(['set', 'reset', 'revert']),
    patch: z.object({ enabled: z.boolean().optional(), rules: z.array(z.unknown()).optional(), rollout: z.unknown().optional() }),
    before: FlagState,
    after: FlagState,
    by: z.string(),
    at: ms,
    reason: z.string(),
    revertOf: int.nullable(),
  }),
);
export const FlagsListResponseSchema = z.object({ environment: z.string(), flags: z.array(FlagViewSchema) });
export const FlagChangeResponseSchema = z.object({ flag: FlagViewSchema, version: FlagVersion.nullable() });
export const FlagHistoryResponseSchema = z.object({ environment: z.string(), flag: z.string(), versions: z.array(FlagVersion) });
export const FlagsExportResponseSchema = z.object({ environment: z.string(), yaml: z.string() });
export const FlagDefinitionsResponseSchema = z.object({
  environment: z.string(),
  etag: z.string(),
  flags: z.array(z.record(z.string(), z.unknown())).describe('resolved definitions for in-process providers (docs/flags.md)'),
});
/** OFREP's own shapes (OpenFeature Remote Evaluation Protocol): described by that specification. */
export const OfrepResponseSchema = z.record(z.string(), z.unknown());

// ---------------------------------------------------------------- requests

const by = z.string().optional().describe('who asks (the CLI sends the OS user)');
const message = z.string().optional();

export const DeployRequestSchema = z.object({
  message,
  by,
  onlyIfChanged: z.boolean().optional(),
  override: z.boolean().optional(),
  reason: z.string().optional(),
  noCache: z.boolean().optional(),
});
export const ShipRequestSchema = z.object({
  from: z.string().optional(),
  release: int.optional(),
  message,
  by,
  override: z.boolean().optional(),
  reason: z.string().optional(),
});
export const RollbackRequestSchema = z.object({ to: int.optional(), message, by });
export const ApplyRequestSchema = z.object({ by, services: z.array(z.string()).optional(), force: z.boolean().optional(), message });
export const RestartRequestSchema = z.object({ message, by });
// Ranges are the handlers' to check, with their own codes and hints (SCALE_OUT_OF_RANGE): the schema checks types.
export const ScaleRequestSchema = z.object({ instances: z.number(), message, by });
export const PromoteRequestSchema = z.object({ full: z.boolean().optional() });
export const AbortRequestSchema = z.object({ reason: z.string().optional(), by });
export const ApprovalRequestSchema = z.object({
  target: z.string().describe('a rollout id ("12"), or a service whose rollout waits'),
  verdict: z.enum(['approve', 'reject']),
  comment: z.string().optional(),
  by,
});
export const PlanRequestSchema = z.object({ services: z.array(z.string()).optional() });
export const TokenCreateRequestSchema = z.object({
  name: z.string().optional(),
  role: Role,
  environments: z.array(z.string()).optional(),
  expires: z.string().optional().describe('an age (30d, 12h, 90m) or an ISO 8601 time'),
});
export const FlagChangeRequestSchema = z.object({
  enabled: z.boolean().optional(),
  rollout: z.union([z.number(), z.object({ percent: z.number(), by: z.string().optional() })]).optional(),
  rules: z.array(z.object({ if: z.string(), serve: z.unknown() })).optional(),
  reset: z.boolean().optional(),
  by,
  reason: z.string().optional(),
});
export const FlagRampRequestSchema = z.object({
  schedule: z.string().optional().describe('e.g. "10% now, 50% in 1h, 100% in 1d"'),
  cancel: z.boolean().optional(),
  by,
  reason: z.string().optional(),
});
export const FlagRampResponseSchema = z.object({ ramp: FlagRampSchema, flag: FlagViewSchema });
export const FlagRevertRequestSchema = z.object({ version: int.min(0), by, reason: z.string().optional() });
export const ShutdownRequestSchema = z.object({ stopAll: z.boolean().optional() });
export const EmptyRequestSchema = z.object({});

// ---------------------------------------------------------------- query parameters (strings on the wire)

const count = () => z.coerce.number().int().min(1).optional();
export const LimitQuery = z.object({ limit: count() });
export const LogsQuery = z.object({
  lines: z.coerce.number().int().min(0).optional(),
  follow: z.enum(['0', '1']).optional(),
  since: z.string().optional().describe('an age (90s, 5m, 2h) or an ISO 8601 time'),
});
export const EventsQuery = z.object({
  env: z
    .string()
    .optional()
    .describe('only this environment (JSON: default the default environment; stream: default every one the token may see)'),
  service: z.string().optional(),
  after: z.string().optional().describe('JSON: an event id; stream: a position (`EVENT.AUDIT`), like Last-Event-ID'),
  limit: count(),
});
export const AuditQuery = z.object({
  env: z.string().optional().describe('only this environment (default: every one the token may see)'),
  since: z.string().optional(),
  service: z.string().optional(),
  limit: count(),
});

// ---------------------------------------------------------------- the TypeScript types conform

/** Compiles only when every value of `Actual` is valid input for the schema `S`. */
type Conforms<Actual extends z.input<S>, S extends z.ZodType> = Actual;
export type Checked = [
  Conforms<ErrorBody, typeof ErrorBodySchema>,
  Conforms<T.StatusResponse, typeof StatusResponseSchema>,
  Conforms<T.ServiceStatus, typeof ServiceStatusSchema>,
  Conforms<T.HistoryResponse, typeof HistoryResponseSchema>,
  Conforms<T.DeployResponse, typeof DeployResponseSchema>,
  Conforms<T.ShipResponse, typeof ShipResponseSchema>,
  Conforms<T.ApplyResponse, typeof ApplyResponseSchema>,
  Conforms<T.ScaleResponse, typeof ScaleResponseSchema>,
  Conforms<T.ExecContextResponse, typeof ExecContextResponseSchema>,
  Conforms<T.EventsResponse, typeof EventsResponseSchema>,
  Conforms<EventRecord, typeof EventRecordSchema>,
  Conforms<T.RolloutResponse, typeof RolloutResponseSchema>,
  Conforms<T.LogLine, typeof LogLineSchema>,
  Conforms<T.PlanResponse, typeof PlanResponseSchema>,
  Conforms<A.TokenCreateResponse, typeof TokenCreateResponseSchema>,
  Conforms<A.TokensResponse, typeof TokensResponseSchema>,
  Conforms<A.AuditResponse, typeof AuditResponseSchema>,
  Conforms<D.WhoAmIResponse, typeof WhoAmIResponseSchema>,
  Conforms<D.TrafficResponse, typeof TrafficResponseSchema>,
  Conforms<FlagRamp, typeof FlagRampSchema>,
  Conforms<FlagRampRequest, typeof FlagRampRequestSchema>,
  // Requests: what the CLI sends is what the server accepts.
  Conforms<T.DeployRequest, typeof DeployRequestSchema>,
  Conforms<T.ShipRequest, typeof ShipRequestSchema>,
  Conforms<T.RollbackRequest, typeof RollbackRequestSchema>,
  Conforms<T.ApplyRequest, typeof ApplyRequestSchema>,
  Conforms<T.RestartRequest, typeof RestartRequestSchema>,
  Conforms<T.ScaleRequest, typeof ScaleRequestSchema>,
  Conforms<T.PromoteRequest, typeof PromoteRequestSchema>,
  Conforms<T.AbortRequest, typeof AbortRequestSchema>,
  Conforms<T.ApprovalRequest, typeof ApprovalRequestSchema>,
  Conforms<T.PlanRequest, typeof PlanRequestSchema>,
  Conforms<A.TokenCreateRequest, typeof TokenCreateRequestSchema>,
];
