/**
 * The web dashboard (docs/dashboard.md, ADR 0028) as route-table entries: its page and hashed
 * assets, built by Vite into dist/ui/ and served without a token (they hold no data), and the two
 * small reads it needs that no other route gives: who the token is (to show only the actions its
 * role allows) and the router's per-release counts with latency buckets (for the live charts).
 * Every piece of data the page shows comes through the `/v1/...` API with the bearer token.
 */
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProjectController } from '../controller/project-controller.js';
import { SlipwayError } from '../core/errors.js';
import { environmentAllowed } from '../access/roles.js';
import { LATENCY_BUCKETS_MS } from '../router/types.js';
import { RESPONDED, type ApiRoute } from './route.js';
import type { TrafficResponse, WhoAmIResponse } from './dashboard-types.js';

/** dist/ui/ next to dist/src/ (this file runs as dist/src/api/dashboard-routes.js). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../ui/', import.meta.url));

/**
 * No inline script or style, no other origin: the page loads its own hashed files and talks to its
 * own API. `style-src 'self'` still lets scripts set element styles (the charts do), which is CSSOM.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

interface StaticFile {
  type: string;
  body: Buffer;
  gzipped: Buffer | null;
}

/** The built files never change while the controller runs (a new build means a new package): read and compress each once. */
const cache = new Map<string, Promise<StaticFile>>();

async function load(name: string): Promise<StaticFile> {
  let f = cache.get(name);
  if (!f) {
    f = readFile(join(DASHBOARD_DIR, name)).then((body) => {
      const type = TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream';
      return { type, body, gzipped: /^(text|image\/svg|application\/json)/.test(type) && body.length > 1024 ? gzipSync(body) : null };
    });
    cache.set(name, f);
    // A missing file is not remembered: a build made after the start is served.
    f.catch(() => cache.delete(name));
  }
  return f;
}

async function sendStatic(req: IncomingMessage, res: ServerResponse, name: string, cacheControl: string): Promise<typeof RESPONDED> {
  let f: StaticFile;
  try {
    f = await load(name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (name === 'index.html')
      throw SlipwayError.of('DASHBOARD_NOT_BUILT', `the dashboard is not built: ${join(DASHBOARD_DIR, name)} is missing`, {
        hint: 'Build it with `npm run build` in the Slipway checkout (a packaged Slipway ships it built).',
      });
    throw SlipwayError.of('NO_SUCH_ENDPOINT', `the dashboard has no file ${name}`, {
      hint: 'Reload the page: the dashboard was probably upgraded since it was opened.',
    });
  }
  const gzip = f.gzipped !== null && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? f.gzipped! : f.body;
  res.writeHead(200, {
    'content-type': f.type,
    'content-length': body.length,
    'cache-control': cacheControl,
    'content-security-policy': DASHBOARD_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    vary: 'accept-encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
  res.end(body);
  return RESPONDED;
}

export function dashboardRoutes(project: ProjectController): ApiRoute[] {
  return [
    {
      method: 'GET',
      pattern: /^\/$/,
      role: 'viewer',
      public: true,
      // Revalidated on every load, so a new build's asset names are picked up at once.
      handler: async ({ req, res }) => sendStatic(req, res, 'index.html', 'no-cache'),
    },
    {
      method: 'GET',
      pattern: /^\/assets\/([A-Za-z0-9][A-Za-z0-9._-]*)$/,
      role: 'viewer',
      public: true,
      // Vite names every asset after its content's hash: a changed file is a new name.
      handler: async ({ req, res, params }) => sendStatic(req, res, `assets/${params[0]!}`, 'public, max-age=31536000, immutable'),
    },
    {
      method: 'GET',
      pattern: /^\/v1\/whoami$/,
      role: 'viewer',
      scope: 'project',
      handler: async ({ principal }) => {
        let defaultEnvironment: string | null = null;
        try {
          defaultEnvironment = project.resolve(undefined).environment;
        } catch {
          /* several environments and no default: the page asks which */
        }
        return {
          name: principal.name,
          role: principal.role,
          environments: principal.environments,
          visibleEnvironments: project
            .environments()
            .map((c) => c.environment)
            .filter((e) => environmentAllowed(principal.environments, e))
            .sort(),
          defaultEnvironment,
        } satisfies WhoAmIResponse;
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/services\/([^/]+)\/traffic$/,
      role: 'viewer',
      handler: async ({ c, params }) => {
        const service = params[0]!;
        if (!(await c.services()).includes(service))
          throw SlipwayError.of('SERVICE_NOT_FOUND', `no service named "${service}"`, { hint: 'See the services with: slipway status' });
        const stats = await c.router.stats().catch(() => undefined);
        const s = stats?.services.find((x) => x.service === service);
        return {
          service,
          environment: c.environment,
          at: c.clock.now(),
          bootId: stats?.bootId ?? null,
          bucketsMs: [...LATENCY_BUCKETS_MS],
          pools: (s?.pools ?? []).map((p) => ({
            release: p.release,
            requests: p.requests,
            errors5xx: p.byClass['5xx'] ?? 0,
            latencyBuckets: p.latencyBuckets,
            latencySumMs: p.latencySumMs,
          })),
        } satisfies TrafficResponse;
      },
    },
  ];
}
