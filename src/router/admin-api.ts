import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { SlipwayError } from '../core/errors.js';
import { readJson, sendError, sendJson } from '../core/http-json.js';
import type { RouterDaemon } from './daemon.js';
import { log } from './log.js';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './prometheus.js';
import { parseServiceRoute } from './route-schema.js';

/** A drain may not wait longer than this. */
const MAX_DRAIN_MS = 3_600_000;

/**
 * The router's admin API (JSON over HTTP on 127.0.0.1). Every endpoint but `GET /metrics` wants
 * `Authorization: Bearer <DIR/token>`; requests that change something must send
 * `Content-Type: application/json`; anything a web page could send (an `Origin` or `Sec-Fetch-*`
 * header, a `Host` other than the loopback address) is refused, `/metrics` included.
 *
 * - `GET /v1/health` → `RouterHealth` (`{ok, pid, workerPid, bootId, startedAt, routes, problems, workerRestarts, lastProblem}`)
 * - `GET /v1/routes` → `ServiceRoute[]`
 * - `PUT /v1/routes/:service` (ServiceRoute) → the route as installed (port 0 replaced by the real port)
 * - `DELETE /v1/routes/:service` → `{removed: service}`
 * - `POST /v1/routes/:service/drain` `{backendIds, timeoutMs}` → `DrainResult` (long poll)
 * - `GET /v1/stats` → `RouterStats`
 * - `GET /metrics` → the same counters in the Prometheus text format 0.0.4
 * - `POST /v1/shutdown` → 202, then the process exits
 *
 * Errors are `ErrorBody` JSON with the status of their kind (400 invalid, 404 not found, 409 conflict).
 */
export function createAdminServer(daemon: RouterDaemon, token: string): Server {
  const want = Buffer.from(`Bearer ${token}`);
  const server = createServer((req, res) => {
    try {
      guard(req, want);
    } catch (err) {
      // Do not read (or wait for) the body of a refused request.
      res.shouldKeepAlive = false;
      sendError(res, err);
      return;
    }
    handle(daemon, req, res).catch((err: unknown) => {
      const e = sendError(res, err);
      if (e.kind === 'internal') log.error(`admin API: ${e.message}`);
    });
  });
  // Drains are long polls: never let Node time them out.
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  return server;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Refuses browsers (and DNS rebinding), missing or wrong tokens, and bodies that are not JSON. */
function guard(req: IncomingMessage, want: Buffer): void {
  const h = req.headers;
  if (h.origin !== undefined || h['sec-fetch-site'] !== undefined || h['sec-fetch-mode'] !== undefined) {
    throw SlipwayError.of(
      'ROUTER_FORBIDDEN_ORIGIN',
      'the router admin API takes no requests from web pages (Origin or Sec-Fetch-* header present)',
      {
        hint: 'Call it from the slipway controller (LocalRouter), not from a browser.',
      },
    );
  }
  const host = h.host === undefined ? undefined : h.host.replace(/:\d+$/, '').toLowerCase();
  if (host !== undefined && !LOOPBACK_HOSTS.has(host)) {
    throw SlipwayError.of('ROUTER_FORBIDDEN_ORIGIN', `the router admin API answers only for 127.0.0.1, not for Host "${h.host}"`, {
      hint: 'Connect to 127.0.0.1 directly.',
    });
  }
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === '/metrics') return; // read-only counters, scraped by Prometheus without credentials
  const given = Buffer.from(h.authorization ?? '');
  if (given.length !== want.length || !timingSafeEqual(given, want)) {
    throw SlipwayError.of('ROUTER_UNAUTHORIZED', `${h.authorization === undefined ? 'missing' : 'wrong'} router admin token`, {
      hint: "Send Authorization: Bearer <token>, the token being the content of the router state directory's `token` file (mode 0600).",
    });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD' && !/^application\/json\s*(;|$)/i.test(h['content-type'] ?? '')) {
    throw SlipwayError.of(
      'REQUEST_NOT_JSON',
      `${req.method} ${path}: expected Content-Type: application/json, got ${h['content-type'] === undefined ? 'none' : `"${h['content-type']}"`}`,
      {
        hint: 'Send the body as JSON (an empty object {} when there is nothing to say).',
      },
    );
  }
}

async function handle(daemon: RouterDaemon, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!;
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  const method = req.method ?? 'GET';
  const route = `${method} /${parts.map((p, i) => (i === 2 && parts[1] === 'routes' ? ':service' : p)).join('/')}`;
  switch (route) {
    case 'GET /v1/health':
      return sendJson(res, 200, daemon.health());
    case 'GET /v1/routes':
      return sendJson(res, 200, daemon.routes());
    case 'PUT /v1/routes/:service': {
      const body = parseServiceRoute(await readJson(req), parts[2]!);
      return sendJson(res, 200, await daemon.setRoute(body));
    }
    case 'DELETE /v1/routes/:service':
      await daemon.removeRoute(parts[2]!);
      return sendJson(res, 200, { removed: parts[2] });
    case 'POST /v1/routes/:service/drain': {
      const { backendIds, timeoutMs } = parseDrain(await readJson(req));
      return sendJson(res, 200, await daemon.drain(parts[2]!, backendIds, timeoutMs));
    }
    case 'GET /v1/stats':
      return sendJson(res, 200, await daemon.allStats());
    case 'GET /metrics': {
      const text = renderPrometheus(await daemon.serviceMetrics());
      res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    case 'POST /v1/shutdown':
      sendJson(res, 202, { stopping: true });
      res.on('finish', () => void daemon.shutdown('POST /v1/shutdown').then(() => process.exit(0)));
      return;
    default:
      throw SlipwayError.of('ROUTER_API_NOT_FOUND', `no admin endpoint ${method} ${path}`, {
        hint: 'Endpoints: GET /v1/health, GET /v1/routes, PUT|DELETE /v1/routes/:service, POST /v1/routes/:service/drain, GET /v1/stats, GET /metrics, POST /v1/shutdown.',
      });
  }
}

function parseDrain(body: unknown): { backendIds: string[]; timeoutMs: number } {
  const b = body as { backendIds?: unknown; timeoutMs?: unknown } | null;
  const problems: string[] = [];
  if (typeof b !== 'object' || b === null) problems.push('expected a JSON object {backendIds, timeoutMs}');
  else {
    if (!Array.isArray(b.backendIds) || !b.backendIds.every((x) => typeof x === 'string' && x !== ''))
      problems.push('backendIds: expected an array of backend ids');
    if (typeof b.timeoutMs !== 'number' || !Number.isInteger(b.timeoutMs) || b.timeoutMs < 0 || b.timeoutMs > MAX_DRAIN_MS)
      problems.push(`timeoutMs: expected an integer from 0 to ${MAX_DRAIN_MS}`);
  }
  if (problems.length > 0)
    throw SlipwayError.of('DRAIN_INVALID', `invalid drain request: ${problems.join('; ')}`, { details: { problems } });
  return b as { backendIds: string[]; timeoutMs: number };
}
