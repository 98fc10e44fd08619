/**
 * The controller's flag endpoints (docs/flags.md): managing flags (`/v1/flags…`), the flag set for
 * in-process providers (`/v1/flag-definitions`, and its server-sent events stream), and evaluation
 * over the OpenFeature Remote Evaluation Protocol (`/ofrep/v1/evaluate/flags[/{key}]`, for the
 * default environment, or under `/environments/{env}` for another). Entries of the API's route
 * table, so the token, role and environment are checked, and changes audited, as for every route.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { ProjectController } from '../controller/project-controller.js';
import { SlipwayError } from '../core/errors.js';
import { readJson, sendJson } from '../core/http-json.js';
import { RESPONDED, type ApiRoute, type RouteContext } from './route.js';
import type { FlagVersion } from '../store/flag-types.js';
import { evaluateFlag } from '../flags/evaluate.js';
import type { FlagChange, FlagService, FlagSnapshot } from '../flags/service.js';
import { flagAuditDetail, flagRamps, flagService } from '../controller/flag-service.js';
import type { FlagRamp } from '../store/flag-types.js';
import type { EvaluationContext, FlagResolution } from '../flags/types.js';

/** `POST /v1/flags/{key}/ramp`: a schedule to follow, or the active one cancelled. */
export interface FlagRampRequest {
  schedule?: string;
  cancel?: boolean;
  by?: string;
  reason?: string;
}

const FLAG = /^\/v1\/flags\/([^/]+)$/;

/**
 * The flag endpoints as route-table entries (route.ts): reading and evaluating needs a viewer,
 * changing a flag a deployer, each change audited (and versioned in the flag's own history).
 * OFREP and the event stream write their own answers (RESPONDED).
 */
export function flagRoutes(project: ProjectController): ApiRoute[] {
  const flags = () => flagService(project);
  const evaluate = (env: string, key: string | undefined) => async (req: IncomingMessage, res: ServerResponse) => {
    await ofrep(await flags().snapshot(env), req, res, key);
    return RESPONDED;
  };
  return [
    {
      method: 'GET',
      pattern: /^\/v1\/flags$/,
      role: 'viewer',
      handler: async ({ c }) => {
        const ramps = await project.store.listFlagRamps({ environment: c.environment, state: 'active', limit: 10_000 });
        const list = await flags().list(c.environment);
        const rampOf = new Map(ramps.map((r) => [r.flag, r]));
        return { environment: c.environment, flags: list.map((f) => (rampOf.has(f.key) ? { ...f, ramp: rampOf.get(f.key) } : f)) };
      },
    },
    {
      method: 'GET',
      pattern: FLAG,
      role: 'viewer',
      handler: async ({ c, params }) => {
        const view = await flags().get(c.environment, params[0]!);
        const ramp = await flagRamps(project).active(c.environment, params[0]!);
        return ramp ? { ...view, ramp } : view;
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/flags\/([^/]+)\/ramp$/,
      role: 'deployer',
      audit: (body) => (body.cancel === true ? 'flag.ramp.cancel' : 'flag.ramp'),
      handler: async ({ c, params, req, auditDetail }) => {
        const body = await readJson<FlagRampRequest>(req);
        const key = params[0]!;
        const by = typeof body.by === 'string' ? body.by : 'unknown';
        const reason = typeof body.reason === 'string' ? body.reason : '';
        let ramp: FlagRamp;
        if (body.cancel === true) ramp = await flagRamps(project).cancel(c.environment, key, by, reason);
        else if (typeof body.schedule === 'string') ramp = await flagRamps(project).start(c.environment, key, body.schedule, by, reason);
        else
          throw SlipwayError.of('FLAG_RAMP_INVALID', 'a ramp needs its schedule, e.g. "10% now, 50% in 1h, 100% in 1d", or cancel: true', {
            hint: 'slipway flags ramp KEY "10% now, 50% in 1h, 100% in 1d" (or --cancel)',
          });
        auditDetail({ service: null, after: { flag: key, ramp }, ...(reason ? { reason } : {}) });
        return { ramp, flag: await flags().get(c.environment, key) };
      },
    },
    {
      method: 'POST',
      pattern: FLAG,
      role: 'deployer',
      audit: 'flag.change',
      handler: async ({ c, params, req, auditDetail }) => {
        const r = await flags().change(c.environment, params[0]!, await readJson<FlagChange>(req));
        auditDetail(flagAudit(params[0]!, r.version));
        return r;
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/flags\/([^/]+)\/history$/,
      role: 'viewer',
      handler: async ({ c, params, query }) => ({
        environment: c.environment,
        flag: params[0]!,
        versions: await flags().history(c.environment, params[0]!, Number(query.get('limit') ?? 50)),
      }),
    },
    {
      method: 'POST',
      pattern: /^\/v1\/flags\/([^/]+)\/revert$/,
      role: 'deployer',
      audit: 'flag.revert',
      handler: async ({ c, params, req, auditDetail }) => {
        const body = await readJson<{ version?: unknown; by?: string; reason?: string }>(req);
        if (typeof body.version !== 'number' || !Number.isInteger(body.version) || body.version < 0)
          throw SlipwayError.of('FLAG_CHANGE_INVALID', 'revert needs the version to restore: a whole number, 0 for the file', {
            hint: 'slipway flags history KEY lists the versions.',
          });
        const r = await flags().revert(c.environment, params[0]!, body.version, body.by, body.reason);
        auditDetail(flagAudit(params[0]!, r.version));
        return r;
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/flags-export$/,
      role: 'viewer',
      handler: async ({ c }) => ({ environment: c.environment, yaml: await flags().exportYaml(c.environment) }),
    },
    {
      method: 'GET',
      pattern: /^\/v1\/flag-definitions$/,
      role: 'viewer',
      handler: async ({ c }) => definitionsBody(await flags().snapshot(c.environment)),
    },
    {
      method: 'GET',
      pattern: /^\/v1\/flag-definitions\/stream$/,
      role: 'viewer',
      handler: async ({ c, req, res }) => {
        stream(flags(), c.environment, req, res);
        return RESPONDED;
      },
    },
    // OFREP: the default environment (or `?env=`), or the one named in the path.
    {
      method: 'POST',
      pattern: /^\/ofrep\/v1\/evaluate\/flags\/([^/]+)$/,
      role: 'viewer',
      handler: ({ c, params, req, res }) => evaluate(c.environment, params[0]!)(req, res),
    },
    {
      method: 'POST',
      pattern: /^\/ofrep\/v1\/evaluate\/flags$/,
      role: 'viewer',
      handler: ({ c, req, res }) => evaluate(c.environment, undefined)(req, res),
    },
    ...[true, false].map((single): ApiRoute => ({
      method: 'POST',
      pattern: single
        ? /^\/environments\/([^/]+)\/ofrep\/v1\/evaluate\/flags\/([^/]+)$/
        : /^\/environments\/([^/]+)\/ofrep\/v1\/evaluate\/flags$/,
      role: 'viewer',
      scope: 'project',
      handler: ({ params, req, res, allowEnvironment }) => {
        const env = project.resolve(params[0]!).environment;
        allowEnvironment(env);
        return evaluate(env, single ? params[1]! : undefined)(req, res);
      },
    })),
  ];
}

/** A flag change's audit entry, flag-level (no service). */
function flagAudit(key: string, v: FlagVersion | null): Parameters<RouteContext['auditDetail']>[0] {
  return { service: null, ...flagAuditDetail(key, v) };
}

function definitionsBody(s: FlagSnapshot): { environment: string; etag: string; flags: FlagSnapshot['definitions'] } {
  return { environment: s.environment, etag: s.etag, flags: s.definitions };
}

/** Server-sent events: the whole flag set at once, then again at every change (flag sets are small). */
function stream(flags: FlagService, env: string, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  const send = (s: FlagSnapshot) => res.write(`event: flags\nid: ${s.etag}\ndata: ${JSON.stringify(definitionsBody(s))}\n\n`);
  let last = '';
  const push = (s: FlagSnapshot) => {
    if (s.etag === last) return;
    last = s.etag;
    send(s);
  };
  const unsubscribe = flags.subscribe(env, push);
  // A comment line now and then keeps proxies and idle timers from closing a quiet stream.
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000).unref();
  const close = () => {
    clearInterval(heartbeat);
    unsubscribe();
  };
  req.once('close', close);
  res.once('close', close);
  flags.snapshot(env).then(push, (err: unknown) => {
    res.write(`event: error\ndata: ${JSON.stringify({ message: (err as Error).message })}\n\n`);
    res.end();
  });
}

/** OFREP evaluation, one flag (`key`) or all of them (bulk, with an ETag per flag set and context). */
async function ofrep(s: FlagSnapshot, req: IncomingMessage, res: ServerResponse, key: string | undefined): Promise<void> {
  let context: EvaluationContext;
  try {
    const body = await readJson<{ context?: unknown }>(req);
    if (body.context !== undefined && (typeof body.context !== 'object' || body.context === null || Array.isArray(body.context)))
      return ofrepError(res, 400, key, 'INVALID_CONTEXT', 'context must be an object of attributes');
    context = (body.context ?? {}) as EvaluationContext;
  } catch (err) {
    return ofrepError(res, 400, key, 'PARSE_ERROR', (err as Error).message);
  }
  if (key !== undefined) {
    const r = evaluateFlag(s.compiled, key, context);
    if (r.errorCode) return ofrepError(res, r.errorCode === 'FLAG_NOT_FOUND' ? 404 : 400, key, r.errorCode, r.errorMessage ?? '');
    return sendJson(res, 200, success(key, r));
  }
  const etag = `"${createHash('sha256').update(s.etag).update(JSON.stringify(context)).digest('hex').slice(0, 32)}"`;
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, { etag });
    res.end();
    return;
  }
  const results = s.definitions.map((d) => {
    const r = evaluateFlag(s.compiled, d.key, context);
    return r.errorCode ? { key: d.key, errorCode: r.errorCode, errorDetails: r.errorMessage ?? '' } : success(d.key, r);
  });
  const data = JSON.stringify({ flags: results });
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data), etag });
  res.end(data);
}

function success(key: string, r: FlagResolution): Record<string, unknown> {
  return { key, value: r.value, reason: r.reason, ...(r.variant === undefined ? {} : { variant: r.variant }), metadata: {} };
}

function ofrepError(res: ServerResponse, status: number, key: string | undefined, errorCode: string, errorDetails: string): void {
  sendJson(res, status, key === undefined ? { errorCode, errorDetails } : { key, errorCode, errorDetails });
}
