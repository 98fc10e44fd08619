/**
 * The controller's flag endpoints (docs/flags.md): managing flags (`/v1/flags…`), the flag set for
 * in-process providers (`/v1/flag-definitions`, and its server-sent events stream), and evaluation
 * over the OpenFeature Remote Evaluation Protocol (`/ofrep/v1/evaluate/flags[/{key}]`, for the
 * default environment, or under `/environments/{env}` for another). Served apart from the JSON
 * route table because OFREP answers with its own status codes and bodies, and the stream stays
 * open. Every request has passed the bearer-token check already.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { ProjectController } from '../controller/project-controller.js';
import { SlipwayError } from '../core/errors.js';
import { readJson, sendJson } from '../core/http-json.js';
import { evaluateFlag } from '../flags/evaluate.js';
import { FlagService, type FlagChange, type FlagSnapshot } from '../flags/service.js';
import type { EvaluationContext, FlagResolution } from '../flags/types.js';

const services = new WeakMap<ProjectController, FlagService>();

/** The flag service of a project's controller (one per controller process). */
export function flagService(project: ProjectController): FlagService {
  let s = services.get(project);
  if (!s) {
    s = new FlagService(project.store, () => {
      try {
        // Reads slipway.yaml again when it changed (a stat otherwise); an invalid file keeps the last valid one.
        project.resolve(undefined);
      } catch {
        /* no default environment: the config was refreshed all the same */
      }
      return project.currentConfig?.flags ?? {};
    });
    services.set(project, s);
  }
  return s;
}

const OFREP = /^(?:\/environments\/([^/]+))?\/ofrep\/v1\/evaluate\/flags(?:\/([^/]+))?$/;
const FLAG = /^\/v1\/flags\/([^/]+)$/;
const HISTORY = /^\/v1\/flags\/([^/]+)\/history$/;
const REVERT = /^\/v1\/flags\/([^/]+)\/revert$/;

/** Every flag endpoint as method and path pattern (for tests that cover every endpoint). */
export const FLAG_ENDPOINTS: { method: string; pattern: RegExp }[] = [
  { method: 'GET', pattern: /^\/v1\/flags$/ },
  { method: 'GET', pattern: FLAG },
  { method: 'POST', pattern: FLAG },
  { method: 'GET', pattern: HISTORY },
  { method: 'POST', pattern: REVERT },
  { method: 'GET', pattern: /^\/v1\/flags-export$/ },
  { method: 'GET', pattern: /^\/v1\/flag-definitions$/ },
  { method: 'GET', pattern: /^\/v1\/flag-definitions\/stream$/ },
  { method: 'POST', pattern: /^\/ofrep\/v1\/evaluate\/flags\/([^/]+)$/ },
  { method: 'POST', pattern: /^\/ofrep\/v1\/evaluate\/flags$/ },
  { method: 'POST', pattern: /^\/environments\/([^/]+)\/ofrep\/v1\/evaluate\/flags\/([^/]+)$/ },
];

/** Serves `req` when it is a flag endpoint; resolves false (having done nothing) otherwise. */
export async function serveFlagRequest(project: ProjectController, req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
  const path = url.pathname;
  if (!path.startsWith('/v1/flag') && !path.includes('/ofrep/')) return false;
  const flags = flagService(project);
  const envName = (requested?: string) => project.resolve(requested ?? url.searchParams.get('env') ?? undefined).environment;
  const method = req.method ?? 'GET';
  let m: RegExpExecArray | null;

  if (method === 'POST' && (m = OFREP.exec(path))) {
    const env = envName(m[1] === undefined ? undefined : decodeURIComponent(m[1]));
    await ofrep(await flags.snapshot(env), req, res, m[2] === undefined ? undefined : decodeURIComponent(m[2]));
    return true;
  }
  if (method === 'GET' && path === '/v1/flags') {
    const env = envName();
    sendJson(res, 200, { environment: env, flags: await flags.list(env) });
    return true;
  }
  if (method === 'GET' && path === '/v1/flags-export') {
    const env = envName();
    sendJson(res, 200, { environment: env, yaml: await flags.exportYaml(env) });
    return true;
  }
  if (method === 'GET' && path === '/v1/flag-definitions') {
    const s = await flags.snapshot(envName());
    sendJson(res, 200, definitionsBody(s));
    return true;
  }
  if (method === 'GET' && path === '/v1/flag-definitions/stream') {
    stream(flags, envName(), req, res);
    return true;
  }
  if ((m = FLAG.exec(path))) {
    const key = decodeURIComponent(m[1]!);
    if (method === 'GET') sendJson(res, 200, await flags.get(envName(), key));
    else if (method === 'POST') sendJson(res, 200, await flags.change(envName(), key, await readJson<FlagChange>(req)));
    else return false;
    return true;
  }
  if (method === 'GET' && (m = HISTORY.exec(path))) {
    const key = decodeURIComponent(m[1]!);
    const env = envName();
    sendJson(res, 200, {
      environment: env,
      flag: key,
      versions: await flags.history(env, key, Number(url.searchParams.get('limit') ?? 50)),
    });
    return true;
  }
  if (method === 'POST' && (m = REVERT.exec(path))) {
    const body = await readJson<{ version?: unknown; by?: string; reason?: string }>(req);
    if (typeof body.version !== 'number' || !Number.isInteger(body.version) || body.version < 0)
      throw SlipwayError.of('FLAG_CHANGE_INVALID', 'revert needs the version to restore: a whole number, 0 for the file', {
        hint: 'slipway flags history KEY lists the versions.',
      });
    sendJson(res, 200, await flags.revert(envName(), decodeURIComponent(m[1]!), body.version, body.by, body.reason));
    return true;
  }
  return false;
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
