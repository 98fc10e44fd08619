/**
 * The controller's HTTP API: the only way in for the CLI (and later the dashboard).
 * Loopback only, and every request carries the bearer token from .slipway/controller.json.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
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
import { FLAG_ENDPOINTS, serveFlagRequest } from './flag-routes.js';
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

/** `c` is the controller of the environment the request names (`?env=`, else the default one), resolved when a handler asks for it. */
type Handler = (ctx: {
  req: IncomingMessage;
  res: ServerResponse;
  params: string[];
  query: URLSearchParams;
  c: Controller;
}) => Promise<unknown>;

export interface ApiServerProps {
  controller: ProjectController;
  token: string;
  /**
   * Stops the controller (and with `stopAll` every instance and the router); resolves with what
   * could not be stopped. The answer is sent once it resolves; then `onStopped` runs.
   */
  onShutdown: (stopAll: boolean) => Promise<string[]>;
  onStopped: () => void;
}

/** The logs endpoint streams, so it is served apart from the JSON routes. */
const LOGS = /^\/v1\/services\/([^/]+)\/logs$/;

/** Every endpoint as method and path pattern: what tests that must cover all of them iterate over. */
export function apiEndpoints(): { method: string; pattern: RegExp }[] {
  // Building the table runs no handler, so it needs no controller.
  const table = routes({ controller: undefined as never, token: '', onShutdown: async () => [], onStopped: () => undefined });
  return [...table.map(([method, pattern]) => ({ method, pattern })), { method: 'GET', pattern: LOGS }, ...FLAG_ENDPOINTS];
}

export function createApiServer(props: ApiServerProps): Server {
  const { controller: project, token } = props;
  const table = routes(props);
  return createServer((req, res) => {
    void (async () => {
      try {
        if (!authorized(req, token))
          throw SlipwayError.of('UNAUTHORIZED', 'missing or wrong API token', {
            hint: 'The token is in .slipway/controller.json; use the slipway CLI from the project directory.',
          });
        const url = new URL(req.url ?? '/', 'http://localhost');
        const env = () => project.resolve(url.searchParams.get('env') ?? undefined);
        if (await serveFlagRequest(project, req, res, url)) return;
        const logs = LOGS.exec(url.pathname);
        if (req.method === 'GET' && logs) {
          const c = env();
          return await serveLogs(c, await known(c, decodeURIComponent(logs[1]!)), url.searchParams, req, res);
        }
        for (const [method, pattern, handler] of table) {
          const m = pattern.exec(url.pathname);
          if (!m || method !== req.method) continue;
          const params = m.slice(1).map(decodeURIComponent);
          const body = await handler({
            req,
            res,
            params,
            query: url.searchParams,
            get c() {
              return env();
            },
          });
          return sendJson(res, 200, body);
        }
        throw SlipwayError.of('NO_SUCH_ENDPOINT', `${req.method} ${url.pathname} is not an API endpoint`);
      } catch (err) {
        sendError(res, err);
      }
    })();
  });
}

function routes({ controller: project, onShutdown, onStopped }: ApiServerProps): [string, RegExp, Handler][] {
  return [
    ['GET', /^\/v1\/health$/, async () => ({ ok: true, pid: process.pid })],
    ['GET', /^\/v1\/status$/, async ({ c }) => status(c)],
    ['GET', /^\/v1\/services\/([^/]+)\/status$/, async ({ c, params }) => serviceStatus(c, await known(c, params[0]!))],
    [
      'GET',
      /^\/v1\/services\/([^/]+)\/history$/,
      async ({ c, params, query }) => history(c, await known(c, params[0]!), Number(query.get('limit') ?? 50)),
    ],
    [
      'POST',
      /^\/v1\/apply$/,
      async ({ c, req }) => {
        const body = await readJson<ApplyRequest>(req);
        return deploys.apply(c, body.by, body);
      },
    ],
    [
      'POST',
      /^\/v1\/services\/([^/]+)\/deploy$/,
      async ({ c, req, params }) => deploys.deploy(c, params[0]!, await readJson<DeployRequest>(req)),
    ],
    [
      'POST',
      /^\/v1\/services\/([^/]+)\/ship$/,
      async ({ c, req, params }) => ship(c, await known(c, params[0]!), await readJson<ShipRequest>(req)),
    ],
    [
      'POST',
      /^\/v1\/services\/([^/]+)\/rollback$/,
      async ({ c, req, params }) => {
        const r = await deploys.rollback(c, await known(c, params[0]!), await readJson<RollbackRequest>(req));
        return { ...(await describeRollout(c, r)), ...(r.policyWarnings ? { policyWarnings: r.policyWarnings } : {}) };
      },
    ],
    [
      'POST',
      /^\/v1\/services\/([^/]+)\/restart$/,
      async ({ c, req, params }) =>
        describeRollout(c, await maintenance.restart(c, await known(c, params[0]!), await readJson<RestartRequest>(req))),
    ],
    [
      'POST',
      /^\/v1\/services\/([^/]+)\/scale$/,
      async ({ c, req, params }) => {
        const service = await known(c, params[0]!);
        const { rollout, ...rest } = await maintenance.scale(c, service, await readJson<ScaleRequest>(req));
        return { service, ...rest, rollout: rollout && (await describeRollout(c, rollout)) } satisfies ScaleResponse;
      },
    ],
    ['GET', /^\/v1\/services\/([^/]+)\/exec-context$/, async ({ c, params }) => maintenance.execContext(c, await known(c, params[0]!))],
    [
      'POST',
      /^\/v1\/services\/([^/]+)\/promote$/,
      async ({ c, req, params }) =>
        describeRollout(c, await commands.promote(c, await known(c, params[0]!), (await readJson<PromoteRequest>(req)).full === true)),
    ],
    [
      'POST',
      /^\/v1\/services\/([^/]+)\/pause$/,
      async ({ c, params }) => describeRollout(c, await commands.pause(c, await known(c, params[0]!))),
    ],
    [
      'POST',
      /^\/v1\/services\/([^/]+)\/resume$/,
      async ({ c, params }) => describeRollout(c, await commands.resume(c, await known(c, params[0]!))),
    ],
    [
      'POST',
      /^\/v1\/services\/([^/]+)\/abort$/,
      async ({ c, req, params }) => {
        const body = await readJson<AbortRequest>(req);
        return describeRollout(c, await commands.abort(c, await known(c, params[0]!), body.by ?? 'unknown', body.reason ?? ''));
      },
    ],
    [
      'POST',
      /^\/v1\/services\/([^/]+)\/retry$/,
      async ({ c, req, params }) =>
        describeRollout(c, await commands.retry(c, await known(c, params[0]!), (await readJson<AbortRequest>(req)).by ?? 'unknown')),
    ],
    ['POST', /^\/v1\/plan$/, async ({ c, req }) => plan(c, await readJson<PlanRequest>(req))],
    [
      'POST',
      /^\/v1\/approvals$/,
      async ({ c, req }) => describeRollout(c, await approvals.decide(c, await readJson<ApprovalRequest>(req))),
    ],
    [
      'GET',
      /^\/v1\/rollouts\/(\d+)$/,
      async ({ params }) => {
        const r = await project.store.getRollout(Number(params[0]));
        if (!r) throw SlipwayError.of('ROLLOUT_NOT_FOUND', `rollout #${params[0]} does not exist`);
        const c = project.environment(r.environment);
        return {
          rollout: await describeRollout(c, r),
          service: await serviceStatus(c, r.service, undefined, undefined, { drift: false }),
        } satisfies RolloutResponse;
      },
    ],
    [
      'GET',
      /^\/v1\/events$/,
      async ({ c, query }) => ({
        events: await c.store.listEvents({
          environment: c.environment,
          service: query.get('service') ?? undefined,
          afterId: Number(query.get('after') ?? 0),
          limit: Number(query.get('limit') ?? 200),
        }),
      }),
    ],
    [
      'POST',
      /^\/v1\/shutdown$/,
      async ({ req, res }) => {
        const { stopAll } = await readJson<{ stopAll?: boolean }>(req);
        const problems = await onShutdown(stopAll === true);
        res.once('finish', onStopped);
        return { ok: problems.length === 0, problems };
      },
    ],
  ];
}

function authorized(req: IncomingMessage, token: string): boolean {
  const given = Buffer.from(req.headers.authorization ?? '');
  const want = Buffer.from(`Bearer ${token}`);
  return given.length === want.length && timingSafeEqual(given, want);
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
