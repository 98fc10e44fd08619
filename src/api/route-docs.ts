/**
 * The `doc` of each route-table entry (route.ts: summary, parameters, schemas), by method and path
 * (`{}` for each parameter). Kept beside the table rather than in each entry so that the handlers
 * stay short; `withDoc` attaches them when the table is built, and test/api/openapi.test.ts
 * fails for a route that has none.
 */
import { z } from 'zod';
import type { ApiRoute, RouteDoc } from './route.js';
import * as S from './schemas.js';

const rollouts = 'rollouts';
const service = ['service'];

const OFREP_BODY = z.object({ context: z.record(z.string(), z.unknown()).optional() });
const OFREP_NOTE = 'OpenFeature Remote Evaluation Protocol: request and answers as that specification says (errors too)';

export const ROUTE_DOCS: Record<string, RouteDoc> = {
  'GET /v1/health': { summary: 'Whether the controller answers, and its pid', tag: 'controller', response: S.HealthResponseSchema },
  'GET /v1/status': {
    summary: 'Every service of the environment: release, rollout, instances, traffic, drift; the router and disk use',
    tag: 'status',
    response: S.StatusResponseSchema,
  },
  'GET /metrics': {
    summary: 'Prometheus metrics of every environment and the router (docs/observability.md)',
    tag: 'controller',
    response: { contentType: 'text/plain', description: 'Prometheus text exposition format 0.0.4' },
  },
  'GET /v1/openapi.json': {
    summary: 'This document',
    tag: 'controller',
    response: { contentType: 'application/json', description: 'OpenAPI 3.1', schema: z.record(z.string(), z.unknown()) },
  },
  'GET /v1/services/{}/status': { summary: "One service's status", tag: 'status', params: service, response: S.ServiceStatusSchema },
  'GET /v1/services/{}/history': {
    summary: "A service's releases and rollouts, newest first",
    tag: 'status',
    params: service,
    query: S.LimitQuery,
    response: S.HistoryResponseSchema,
  },
  'GET /v1/services/{}/logs': {
    summary: "A service's instance logs (every host's on an ssh environment); with follow=1, new lines as they are written",
    tag: 'status',
    params: service,
    query: S.LogsQuery,
    response: {
      contentType: 'application/x-ndjson',
      description: 'one LogLine per line; on an ssh environment also a LogHostNotice per host whose lines are missing (or follow again)',
      schema: z.union([S.LogLineSchema, S.LogHostNoticeSchema]),
    },
  },
  'POST /v1/apply': {
    summary: '`slipway up`: deploy what slipway.yaml and the source changed (or the services named, with force)',
    tag: rollouts,
    body: S.ApplyRequestSchema,
    response: S.ApplyResponseSchema,
  },
  'POST /v1/services/{}/deploy': {
    summary: 'Build a release of the service and roll it out (answers at once with the rollout id)',
    tag: rollouts,
    params: service,
    body: S.DeployRequestSchema,
    response: S.DeployResponseSchema,
  },
  'POST /v1/services/{}/ship': {
    summary: 'Promote the release that succeeded in another environment (`from`) to this one',
    tag: rollouts,
    params: service,
    body: S.ShipRequestSchema,
    response: S.ShipResponseSchema,
  },
  'POST /v1/services/{}/rollback': {
    summary: 'Go back to an earlier release (or undo the rollout in progress)',
    tag: rollouts,
    params: service,
    body: S.RollbackRequestSchema,
    response: S.RolloutViewSchema,
  },
  'POST /v1/services/{}/restart': {
    summary: "Replace the serving release's instances with new ones",
    tag: rollouts,
    params: service,
    body: S.RestartRequestSchema,
    response: S.RolloutViewSchema,
  },
  'POST /v1/services/{}/scale': {
    summary: 'Run another number of instances of the serving release',
    tag: rollouts,
    params: service,
    body: S.ScaleRequestSchema,
    response: S.ScaleResponseSchema,
  },
  'GET /v1/services/{}/exec-context': {
    summary: 'What `slipway exec` runs with: the release directory, environment and encrypted secrets',
    tag: 'status',
    params: service,
    response: S.ExecContextResponseSchema,
  },
  'POST /v1/services/{}/promote': {
    summary: 'Past the current canary step or pause (full: straight to 100%)',
    tag: rollouts,
    params: service,
    body: S.PromoteRequestSchema,
    response: S.RolloutViewSchema,
  },
  'POST /v1/services/{}/pause': { summary: 'Hold the rollout where it is', tag: rollouts, params: service, response: S.RolloutViewSchema },
  'POST /v1/services/{}/resume': { summary: 'Go on after a pause', tag: rollouts, params: service, response: S.RolloutViewSchema },
  'POST /v1/services/{}/abort': {
    summary: 'Stop the rollout and go back to the release that served',
    tag: rollouts,
    params: service,
    body: S.AbortRequestSchema,
    response: S.RolloutViewSchema,
  },
  'POST /v1/services/{}/retry': {
    summary: 'Roll out the release of a failed or aborted rollout again',
    tag: rollouts,
    params: service,
    body: S.AbortRequestSchema,
    response: S.RolloutViewSchema,
  },
  'POST /v1/plan': {
    summary: 'What a deploy of each service would change (builds to learn digests; changes nothing)',
    tag: rollouts,
    body: S.PlanRequestSchema,
    response: S.PlanResponseSchema,
  },
  'POST /v1/approvals': {
    summary: 'Approve or reject a deploy waiting in AwaitingApproval',
    tag: rollouts,
    body: S.ApprovalRequestSchema,
    response: S.RolloutViewSchema,
  },
  'GET /v1/rollouts/{}': {
    summary: 'One rollout and its service (what `deploy --wait` reads at each event)',
    tag: rollouts,
    params: ['id'],
    response: S.RolloutResponseSchema,
  },
  'GET /v1/events': {
    summary: 'The event log: a page as JSON, or with `Accept: text/event-stream` the live stream (docs/api.md, "Event stream")',
    tag: 'events',
    query: S.EventsQuery,
    response: S.EventsResponseSchema,
    stream: {
      contentType: 'text/event-stream',
      description:
        'server-sent events: `ready`, then `event` (an Event) and `audit` (an AuditEntry) as they are recorded, ids `EVENT.AUDIT` for Last-Event-ID; `dropped` when the client fell behind',
    },
  },
  'POST /v1/shutdown': {
    summary: 'Stop the controller (stopAll: the instances and the router too)',
    tag: 'controller',
    body: S.ShutdownRequestSchema,
    response: S.ShutdownResponseSchema,
  },
  'POST /v1/tokens': {
    summary: 'Create an API token (its value is in this answer only)',
    tag: 'access',
    body: S.TokenCreateRequestSchema,
    response: S.TokenCreateResponseSchema,
  },
  'GET /v1/tokens': { summary: 'Every token (never their values), revoked ones included', tag: 'access', response: S.TokensResponseSchema },
  'POST /v1/tokens/{}/revoke': {
    summary: 'Revoke a token by name or id',
    tag: 'access',
    params: ['token'],
    response: S.TokenRevokeResponseSchema,
  },
  'GET /v1/audit': {
    summary: 'The audit log: who changed what, oldest first',
    tag: 'access',
    query: S.AuditQuery,
    response: S.AuditResponseSchema,
  },
  'GET /v1/whoami': {
    summary: 'The token that asks: its name, role and environments (the web dashboard signs in with it)',
    tag: 'access',
    response: S.WhoAmIResponseSchema,
  },
  'GET /v1/services/{}/traffic': {
    summary: 'What the router counted per release of the service since it started (rates between two reads)',
    tag: 'status',
    params: service,
    response: S.TrafficResponseSchema,
  },
  'GET /v1/flags': { summary: "The environment's feature flags", tag: 'flags', response: S.FlagsListResponseSchema },
  'GET /v1/flags/{}': { summary: 'One flag', tag: 'flags', params: ['key'], response: S.FlagViewSchema },
  'POST /v1/flags/{}': {
    summary: 'Change a flag at run time (versioned; `reset` goes back to the file)',
    tag: 'flags',
    params: ['key'],
    body: S.FlagChangeRequestSchema,
    response: S.FlagChangeResponseSchema,
  },
  'POST /v1/flags/{}/ramp': {
    summary: 'Follow a rollout schedule ("10% now, 50% in 1h, 100% in 1d"), or cancel the active one',
    tag: 'flags',
    params: ['key'],
    body: S.FlagRampRequestSchema,
    response: S.FlagRampResponseSchema,
  },
  'GET /v1/flags/{}/history': {
    summary: "A flag's versions, newest first",
    tag: 'flags',
    params: ['key'],
    query: S.LimitQuery,
    response: S.FlagHistoryResponseSchema,
  },
  'POST /v1/flags/{}/revert': {
    summary: "Restore a flag's earlier version (0: the file's)",
    tag: 'flags',
    params: ['key'],
    body: S.FlagRevertRequestSchema,
    response: S.FlagChangeResponseSchema,
  },
  'GET /v1/flags-export': { summary: 'The run-time flag state as slipway.yaml text', tag: 'flags', response: S.FlagsExportResponseSchema },
  'GET /v1/flag-definitions': {
    summary: 'The resolved flag set, for in-process providers',
    tag: 'flags',
    response: S.FlagDefinitionsResponseSchema,
  },
  'GET /v1/flag-definitions/stream': {
    summary: 'The flag set as server-sent events: at once, then at every change',
    tag: 'flags',
    response: { contentType: 'text/event-stream', description: '`flags` events, each the whole flag set (as GET /v1/flag-definitions)' },
  },
  'POST /ofrep/v1/evaluate/flags/{}': {
    summary: `Evaluate one flag (${OFREP_NOTE})`,
    tag: 'flags',
    params: ['key'],
    body: OFREP_BODY,
    checksBody: true,
    response: S.OfrepResponseSchema,
  },
  'POST /ofrep/v1/evaluate/flags': {
    summary: `Evaluate every flag (${OFREP_NOTE})`,
    tag: 'flags',
    body: OFREP_BODY,
    checksBody: true,
    response: S.OfrepResponseSchema,
  },
  'POST /environments/{}/ofrep/v1/evaluate/flags/{}': {
    summary: `Evaluate one flag in the environment named (${OFREP_NOTE})`,
    tag: 'flags',
    params: ['environment', 'key'],
    body: OFREP_BODY,
    checksBody: true,
    response: S.OfrepResponseSchema,
  },
  'POST /environments/{}/ofrep/v1/evaluate/flags': {
    summary: `Evaluate every flag in the environment named (${OFREP_NOTE})`,
    tag: 'flags',
    params: ['environment'],
    body: OFREP_BODY,
    checksBody: true,
    response: S.OfrepResponseSchema,
  },
};

/** `GET /v1/services/{}/status`: a route's key in ROUTE_DOCS. */
export function docKey(route: Pick<ApiRoute, 'method' | 'pattern'>): string {
  const path = route.pattern.source
    .replace(/^\^/, '')
    .replace(/\$$/, '')
    .replace(/\((?:\[\^\/\]\+|\\d\+)\)/g, '{}')
    .replaceAll('\\/', '/')
    .replaceAll('\\.', '.');
  return `${route.method} ${path}`;
}

/** The entry with its doc (its own, else ROUTE_DOCS'). */
export function withDoc(route: ApiRoute): ApiRoute {
  const doc = route.doc ?? ROUTE_DOCS[docKey(route)];
  return doc ? { ...route, doc } : route;
}
