/**
 * The controller's HTTP API: the only way in for the CLI (and later the dashboard). Every request
 * carries a bearer token (ADR 0024); each route of the table declares the least role it needs and
 * whether it is audited, and both are enforced here, in one place.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { createLogger, type FieldLogger } from '../core/logger.js';
import { SlipwayError } from '../core/errors.js';
import type { Controller } from '../controller/controller.js';
import type { ProjectController } from '../controller/project-controller.js';
import { describeRollout, history, serviceStatus, status } from '../controller/status.js';
import * as commands from '../controller/rollout-commands.js';
import * as deploys from '../controller/deploys.js';
import * as maintenance from '../controller/maintenance.js';
import * as approvals from '../controller/approvals.js';
import { plan } from '../controller/plan.js';
import { parseSince, streamLogs } from '../controller/log-stream.js';
import { ship } from '../environments/promotion.js';
import { readJson, sendError, sendJson } from '../core/http-json.js';
import { METRICS_CONTENT_TYPE } from '../observability/controller-metrics.js';
import { verifyToken, type Principal } from '../access/tokens.js';
import { environmentAllowed, roleIncludes } from '../access/roles.js';
import { audit } from '../access/audit.js';
import { accessRoutes } from './access-routes.js';
import { RESPONDED, type ApiRoute, type RouteContext, type RouteDoc } from './route.js';
import { withDoc } from './route-docs.js';
import { openApiDocument } from './openapi.js';
import { flagRoutes } from './flag-routes.js';
import { dashboardRoutes } from './dashboard-routes.js';
import { DEFAULT_TIMING, parseCursor, serveEventStream, type StreamTiming } from './event-stream.js';
import type {
  AbortRequest,
  ApprovalRequest,
  PlanRequest,
  ApplyRequest,
  DeployRequest,
  PromoteRequest,
  RestartRequest,
  RollbackRequest,
  RolloutResponse,
  ScaleRequest,
  ScaleResponse,
  ShipRequest,
} from './types.js';

/** The API's version in the OpenAPI document: the package's. */
const API_VERSION: string = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;

export interface ApiServerProps {
  controller: ProjectController;
  /**
   * Stops the controller (and with `stopAll` every instance and the router); resolves with what
   * could not be stopped. The answer is sent once it resolves; then `onStopped` runs.
   */
  onShutdown: (stopAll: boolean) => Promise<string[]>;
  onStopped: () => void;
}

/** Every endpoint with the role it needs: what tests that must cover all of them iterate over. */
export function apiEndpoints(): Pick<ApiRoute, 'method' | 'pattern' | 'role' | 'scope' | 'audit' | 'public' | 'doc'>[] {
  // Building the table runs no handler, so it needs no controller.
  return routes({ controller: undefined as never, onShutdown: async () => [], onStopped: () => undefined }).map(
    ({ method, pattern, role, scope, audit, public: open, doc }) => ({ method, pattern, role, scope, audit, public: open, doc }),
  );
}

/** The OpenAPI document of the API (what `GET /v1/openapi.json` answers). */
export function apiDocument(): Record<string, unknown> {
  return openApiDocument(routes({ controller: undefined as never, onShutdown: async () => [], onStopped: () => undefined }), API_VERSION);
}

/** The API on plain HTTP (the loopback listener), or on HTTPS when given a certificate and key. */
export function createApiServer(props: ApiServerProps, tls?: { cert: Buffer; key: Buffer }): Server {
  const table = routes(props);
  const handle = (req: IncomingMessage, res: ServerResponse) => void serve(props.controller, table, req, res);
  return tls ? createTlsServer({ cert: tls.cert, key: tls.key }, handle) : createServer(handle);
}

/** The controller's log of API requests (one line each, with its request id; never a header, so never a token). */
let requestLog: FieldLogger | undefined;

/** The request's own id (X-Request-Id) when it is a sane one, else a new one. */
function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  const id = Array.isArray(given) ? given[0] : given;
  return id !== undefined && /^[\w.:-]{1,128}$/.test(id) ? id : randomUUID();
}

async function serve(project: ProjectController, table: ApiRoute[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const reqId = requestIdOf(req);
  res.setHeader('x-request-id', reqId);
  const url = new URL(req.url ?? '/', 'http://localhost');
  let actor: string | null = null;
  res.once('close', () => {
    const status = res.headersSent ? res.statusCode : 0;
    requestLog ??= createLogger('api');
    requestLog.with(
      { reqId, method: req.method, path: url.pathname, status, ms: Math.round((performance.now() - started) * 10) / 10, actor },
      status >= 500 || status === 0 ? 'warn' : 'info',
      `${req.method} ${url.pathname} ${status}`,
    );
  });
  try {
    const open = table.find((r) => r.public && r.method === req.method && r.pattern.test(url.pathname));
    if (open) {
      // The dashboard's static files: no token, no environment, nothing audited (route.ts).
      await open.handler({ req, res, params: open.pattern.exec(url.pathname)!.slice(1), query: url.searchParams } as RouteContext);
      return;
    }
    const principal = await authenticate(project, req);
    actor = principal.name;
    const route = table.find((r) => r.method === req.method && r.pattern.test(url.pathname));
    if (!route) throw SlipwayError.of('NO_SUCH_ENDPOINT', `${req.method} ${url.pathname} is not an API endpoint`);
    const params = route.pattern.exec(url.pathname)!.slice(1).map(decodeURIComponent);
    const scope = route.scope ?? 'environment';
    const detail: Parameters<RouteContext['auditDetail']>[0] = {};
    let c: Controller | undefined;
    const recorded = {
      environment: null as string | null,
      // Routes under /v1/services/NAME/ are about that service.
      service: params.length && route.pattern.source.startsWith('^\\/v1\\/services\\/') ? params[0]! : null,
    };
    const allowEnvironment = (environment: string) => {
      recorded.environment = environment;
      authorize(principal, route, environment);
    };
    let before: unknown;
    try {
      if (scope === 'environment') {
        c = project.resolve(url.searchParams.get('env') ?? undefined);
        allowEnvironment(c.environment);
      } else if (!roleIncludes(principal.role, route.role) || (route.role !== 'viewer' && principal.environments !== null)) {
        // Project-wide changes (tokens, shutdown) need a token for every environment.
        authorize(principal, route, undefined);
      }
      if (route.audit && c && recorded.service) before = await snapshot(c, recorded.service);
      const ctx: RouteContext = {
        req,
        res,
        params,
        query: url.searchParams,
        // A project-wide route that still asks for `?env=`'s controller gets it checked like any other.
        get c() {
          if (!c) {
            c = project.resolve(url.searchParams.get('env') ?? undefined);
            allowEnvironment(c.environment);
          }
          return c;
        },
        principal,
        allowEnvironment,
        auditDetail: (d) => Object.assign(detail, d),
      };
      if (route.doc) await checkRequest(route.doc, url.searchParams, req);
      const answer = await route.handler(ctx);
      if (route.audit)
        await record(project, route, principal, req, recorded, 'ok', before, await after(c, recorded.service, answer), detail);
      if (answer !== RESPONDED) sendJson(res, 200, answer);
    } catch (err) {
      const e = SlipwayError.from(err);
      // Refusals are recorded too: who tried to change what and why it did not happen.
      if (route.audit) await record(project, route, principal, req, recorded, e.code, before, undefined, detail).catch(() => undefined);
      throw e;
    }
  } catch (err) {
    sendError(res, err);
  }
}

/** The principal of the request's bearer token; throws UNAUTHORIZED (never repeating the value). */
async function authenticate(project: ProjectController, req: IncomingMessage): Promise<Principal> {
  const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  const hint =
    'Use the slipway CLI from the project directory (it reads .slipway/token), or set SLIPWAY_TOKEN to a token from `slipway tokens create`.';
  if (!m) throw SlipwayError.of('UNAUTHORIZED', 'missing API token (Authorization: Bearer TOKEN)', { hint });
  const p = await verifyToken(project.store, m[1]!, project.clock.now());
  if (typeof p === 'string') throw SlipwayError.of('UNAUTHORIZED', `${p === 'unknown' ? 'unknown' : p} API token`, { hint });
  return p;
}

/** Throws FORBIDDEN naming the role and environment needed, unless the token has both. */
function authorize(p: Principal, route: ApiRoute, environment: string | undefined): void {
  const roleOk = roleIncludes(p.role, route.role);
  const envOk = environment === undefined ? p.environments === null : environmentAllowed(p.environments, environment);
  if (roleOk && envOk) return;
  const where = environment === undefined ? 'all environments' : `environment "${environment}"`;
  const has = `token "${p.name}" is a ${p.role} for ${p.environments === null ? 'all environments' : p.environments.join(', ')}`;
  throw SlipwayError.of(
    'FORBIDDEN',
    `${route.method} ${route.pattern.source.replace(/^\^|\$$/g, '').replaceAll('\\/', '/')} needs the ${route.role} role for ${where}; ${has}`,
    {
      hint: `Ask an admin for a token with: slipway tokens create --role ${route.role}${environment === undefined ? '' : ` --env ${environment}`}`,
      details: { role: route.role, environment: environment ?? null, tokenRole: p.role, tokenEnvironments: p.environments },
    },
  );
}

/** The serving release and active rollout of a service: an audit entry's default before and after. */
async function snapshot(c: Controller, service: string): Promise<unknown> {
  try {
    const active = await c.store.activeRollout(c.environment, service);
    return {
      release: await c.store.getCurrentRelease(c.environment, service),
      rollout: active ? { id: active.id, kind: active.kind, phase: active.phase, toRelease: active.toRelease } : null,
    };
  } catch {
    return undefined;
  }
}

async function after(c: Controller | undefined, service: string | null, answer: unknown): Promise<unknown> {
  const state = c && service ? ((await snapshot(c, service)) as Record<string, unknown> | undefined) : undefined;
  const view = answer as { id?: unknown; phase?: unknown; weight?: number; step?: number; stage?: string } | undefined;
  if (state && view && typeof view.id === 'number' && typeof view.phase === 'string')
    return { ...state, rollout: { id: view.id, phase: view.phase, weight: view.weight, step: view.step, stage: view.stage } };
  return state;
}

async function record(
  project: ProjectController,
  route: ApiRoute,
  p: Principal,
  req: IncomingMessage,
  target: { environment: string | null; service: string | null },
  outcome: string,
  before: unknown,
  afterState: unknown,
  detail: Parameters<RouteContext['auditDetail']>[0],
): Promise<void> {
  const raw = await readJson<unknown>(req).catch(() => undefined);
  const body = (raw !== null && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const reason = [body.reason, body.message, body.comment].find((x) => typeof x === 'string' && x !== '') as string | undefined;
  await audit(project.store, {
    actor: p.name,
    action: typeof route.audit === 'function' ? route.audit(body) : route.audit!,
    at: project.clock.now(),
    environment: target.environment,
    service: target.service,
    before,
    after: afterState,
    reason: reason ?? '',
    outcome,
    ...detail,
  });
}

/** Throws REQUEST_INVALID, listing every problem, unless the query and body match the route's schemas. */
async function checkRequest(doc: RouteDoc, query: URLSearchParams, req: IncomingMessage): Promise<void> {
  const issues: { in: 'query' | 'body'; path: string; message: string }[] = [];
  if (doc.query) {
    const r = doc.query.safeParse(Object.fromEntries(query));
    if (!r.success) for (const i of r.error.issues) issues.push({ in: 'query', path: i.path.join('.'), message: i.message });
  }
  if (doc.body && !doc.checksBody && req.method !== 'GET') {
    const r = doc.body.safeParse(await readJson<unknown>(req));
    if (!r.success) for (const i of r.error.issues) issues.push({ in: 'body', path: i.path.join('.'), message: i.message });
  }
  if (!issues.length) return;
  const where = issues.map((i) => `${i.in}${i.path ? ` ${i.path}` : ''}: ${i.message}`).join('; ');
  throw SlipwayError.of('REQUEST_INVALID', `${req.method} ${(req.url ?? '').split('?')[0]}: ${where}`, {
    hint: 'GET /v1/openapi.json (or docs/api.md) describes what each endpoint takes.',
    details: { issues },
  });
}

function routes(props: ApiServerProps): ApiRoute[] {
  return table(props).map(withDoc);
}

function table(props: ApiServerProps): ApiRoute[] {
  const { controller: project, onShutdown, onStopped } = props;
  let document: Record<string, unknown> | undefined;
  const r = (
    method: ApiRoute['method'],
    pattern: RegExp,
    role: ApiRoute['role'],
    handler: ApiRoute['handler'],
    more: Partial<ApiRoute> = {},
  ): ApiRoute => ({
    method,
    pattern,
    role,
    handler,
    ...more,
  });
  return [
    r('GET', /^\/v1\/health$/, 'viewer', async () => ({ ok: true, pid: process.pid }), { scope: 'project' }),
    r('GET', /^\/v1\/openapi\.json$/, 'viewer', async () => (document ??= apiDocument()), { scope: 'project' }),
    r('GET', /^\/v1\/status$/, 'viewer', async ({ c }) => status(c)),
    // Prometheus text, not JSON: every environment's rollouts and instances, and the router's counts (docs/observability.md).
    r(
      'GET',
      /^\/metrics$/,
      'viewer',
      async ({ res }) => {
        const text = await project.metrics.text();
        res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return RESPONDED;
      },
      { scope: 'project' },
    ),
    r('GET', /^\/v1\/services\/([^/]+)\/status$/, 'viewer', async ({ c, params }) => serviceStatus(c, await known(c, params[0]!))),
    r('GET', /^\/v1\/services\/([^/]+)\/history$/, 'viewer', async ({ c, params, query }) =>
      history(c, await known(c, params[0]!), Number(query.get('limit') ?? 50)),
    ),
    r('GET', /^\/v1\/services\/([^/]+)\/logs$/, 'viewer', async ({ c, params, query, req, res }) => {
      await serveLogs(c, await known(c, params[0]!), query, req, res);
      return RESPONDED;
    }),
    r(
      'POST',
      /^\/v1\/apply$/,
      'deployer',
      async ({ c, req }) => {
        const body = await readJson<ApplyRequest>(req);
        return deploys.apply(c, body.by, body);
      },
      { audit: 'apply' },
    ),
    r(
      'POST',
      /^\/v1\/services\/([^/]+)\/deploy$/,
      'deployer',
      async ({ c, req, params }) => deploys.deploy(c, params[0]!, await readJson<DeployRequest>(req)),
      {
        audit: 'deploy',
      },
    ),
    r(
      'POST',
      /^\/v1\/services\/([^/]+)\/ship$/,
      'deployer',
      async ({ c, req, params }) => ship(c, await known(c, params[0]!), await readJson<ShipRequest>(req)),
      {
        audit: 'ship',
      },
    ),
    r(
      'POST',
      /^\/v1\/services\/([^/]+)\/rollback$/,
      'deployer',
      async ({ c, req, params }) => {
        const r = await deploys.rollback(c, await known(c, params[0]!), await readJson<RollbackRequest>(req));
        return { ...(await describeRollout(c, r)), ...(r.policyWarnings ? { policyWarnings: r.policyWarnings } : {}) };
      },
      { audit: 'rollback' },
    ),
    r(
      'POST',
      /^\/v1\/services\/([^/]+)\/restart$/,
      'deployer',
      async ({ c, req, params }) =>
        describeRollout(c, await maintenance.restart(c, await known(c, params[0]!), await readJson<RestartRequest>(req))),
      { audit: 'restart' },
    ),
    r(
      'POST',
      /^\/v1\/services\/([^/]+)\/scale$/,
      'deployer',
      async ({ c, req, params }) => {
        const service = await known(c, params[0]!);
        const { rollout, ...rest } = await maintenance.scale(c, service, await readJson<ScaleRequest>(req));
        return { service, ...rest, rollout: rollout && (await describeRollout(c, rollout)) } satisfies ScaleResponse;
      },
      { audit: 'scale' },
    ),
    // What `slipway exec` runs with: the release's environment and its secrets (encrypted), so a deployer's.
    r('GET', /^\/v1\/services\/([^/]+)\/exec-context$/, 'deployer', async ({ c, params }) =>
      maintenance.execContext(c, await known(c, params[0]!)),
    ),
    r(
      'POST',
      /^\/v1\/services\/([^/]+)\/promote$/,
      'deployer',
      async ({ c, req, params }) =>
        describeRollout(c, await commands.promote(c, await known(c, params[0]!), (await readJson<PromoteRequest>(req)).full === true)),
      { audit: 'promote' },
    ),
    r(
      'POST',
      /^\/v1\/services\/([^/]+)\/pause$/,
      'deployer',
      async ({ c, params }) => describeRollout(c, await commands.pause(c, await known(c, params[0]!))),
      {
        audit: 'pause',
      },
    ),
    r(
      'POST',
      /^\/v1\/services\/([^/]+)\/resume$/,
      'deployer',
      async ({ c, params }) => describeRollout(c, await commands.resume(c, await known(c, params[0]!))),
      {
        audit: 'resume',
      },
    ),
    r(
      'POST',
      /^\/v1\/services\/([^/]+)\/abort$/,
      'deployer',
      async ({ c, req, params }) => {
        const body = await readJson<AbortRequest>(req);
        return describeRollout(c, await commands.abort(c, await known(c, params[0]!), body.by ?? 'unknown', body.reason ?? ''));
      },
      { audit: 'abort' },
    ),
    r(
      'POST',
      /^\/v1\/services\/([^/]+)\/retry$/,
      'deployer',
      async ({ c, req, params }) =>
        describeRollout(c, await commands.retry(c, await known(c, params[0]!), (await readJson<AbortRequest>(req)).by ?? 'unknown')),
      { audit: 'retry' },
    ),
    // Changes nothing, but builds (CPU, disk): a deployer's.
    r('POST', /^\/v1\/plan$/, 'deployer', async ({ c, req }) => plan(c, await readJson<PlanRequest>(req))),
    r(
      'POST',
      /^\/v1\/approvals$/,
      'approver',
      async ({ c, req, auditDetail }) => {
        const body = await readJson<ApprovalRequest>(req);
        const rollout = await approvals.decide(c, body);
        auditDetail({ service: rollout.service, after: { rollout: rollout.id, release: rollout.toRelease, verdict: body.verdict } });
        return describeRollout(c, rollout);
      },
      { audit: (body) => (body.verdict === 'reject' ? 'reject' : 'approve') },
    ),
    r(
      'GET',
      /^\/v1\/rollouts\/(\d+)$/,
      'viewer',
      async ({ params, allowEnvironment }) => {
        const r = await project.store.getRollout(Number(params[0]));
        if (!r) throw SlipwayError.of('ROLLOUT_NOT_FOUND', `rollout #${params[0]} does not exist`);
        allowEnvironment(r.environment);
        const c = project.environment(r.environment);
        return {
          rollout: await describeRollout(c, r),
          service: await serviceStatus(c, r.service, undefined, undefined, { drift: false }),
        } satisfies RolloutResponse;
      },
      { scope: 'project' },
    ),
    // JSON: a page of one environment's events after `after`. With `Accept: text/event-stream`: the
    // live stream of every environment the token may see (or `?env=`'s), audit entries included.
    r(
      'GET',
      /^\/v1\/events$/,
      'viewer',
      async (ctx) => {
        const { query, req, res, principal } = ctx;
        if (!(req.headers.accept ?? '').includes('text/event-stream')) {
          const { c } = ctx;
          return {
            events: await c.store.listEvents({
              environment: c.environment,
              service: query.get('service') ?? undefined,
              afterId: Number(query.get('after') ?? 0),
              limit: Number(query.get('limit') ?? 200),
            }),
          };
        }
        const env = query.get('env') ?? undefined;
        const environment = env === undefined ? undefined : ctx.c.environment;
        const header = req.headers['last-event-id'];
        const start = parseCursor((Array.isArray(header) ? header[0] : header) ?? query.get('after'));
        await serveEventStream(
          project.store,
          req,
          res,
          { environment, service: query.get('service') ?? undefined, allowed: principal.environments },
          start,
          streamTiming(),
        );
        return RESPONDED;
      },
      { scope: 'project' },
    ),
    ...accessRoutes(project),
    ...flagRoutes(project),
    ...dashboardRoutes(project),
    r(
      'POST',
      /^\/v1\/shutdown$/,
      'admin',
      async ({ req, res }) => {
        const { stopAll } = await readJson<{ stopAll?: boolean }>(req);
        const problems = await onShutdown(stopAll === true);
        res.once('finish', onStopped);
        return { ok: problems.length === 0, problems };
      },
      { scope: 'project', audit: 'shutdown' },
    ),
  ];
}

/** The event stream's timing; tests shorten the heartbeat and the slow-client deadline through the environment. */
function streamTiming(): StreamTiming {
  const ms = (name: string, fallback: number) => {
    const v = Number(process.env[name]);
    return Number.isFinite(v) && v > 0 ? v : fallback;
  };
  return {
    pollMs: DEFAULT_TIMING.pollMs,
    heartbeatMs: ms('SLIPWAY_EVENTS_HEARTBEAT_MS', DEFAULT_TIMING.heartbeatMs),
    drainTimeoutMs: ms('SLIPWAY_EVENTS_DRAIN_MS', DEFAULT_TIMING.drainTimeoutMs),
  };
}

async function known(c: Controller, service: string): Promise<string> {
  const all = await c.services();
  if (!all.includes(service)) {
    throw SlipwayError.of('SERVICE_NOT_FOUND', `no service named "${service}"`, {
      hint: all.length ? `Services: ${all.join(', ')}` : 'Deploy one first: slipway up',
    });
  }
  return service;
}

async function serveLogs(c: Controller, service: string, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const since = q.get('since');
  const sinceMs = since === null ? undefined : parseSince(since, c.clock.now());
  if (sinceMs === undefined && since !== null) {
    throw SlipwayError.of('LOGS_SINCE_INVALID', `since=${since} is not a time`, {
      hint: 'Give an ISO 8601 time (2026-11-29T15:45:00Z) or an age such as 90s, 5m, 2h.',
    });
  }
  const abort = new AbortController();
  req.once('close', () => abort.abort());
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  await streamLogs(
    c,
    service,
    { lines: Number(q.get('lines') ?? 100), follow: q.get('follow') === '1', sinceMs, signal: abort.signal },
    (l) => {
      res.write(JSON.stringify(l) + '\n');
    },
  );
  res.end();
}
