/**
 * The haproxy.cfg Slipway owns: rendered whole from the route table (routes.json), so a HAProxy
 * (re)started from it serves exactly what the Runtime API had set. Pure.
 */
import { SlipwayError } from '../../core/errors.js';
import type { ServiceRoute } from '../../router/types.js';

/** HAProxy names (proxies, servers) Slipway generates: only these characters, so nothing can be injected into the config or a socket command. */
const SAFE_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

export interface HaproxyOptions {
  /** `option httpchk GET <path>` for every backend; without it HAProxy checks that the port accepts a connection. */
  healthPath?: string;
  /** Health check interval. @default 1000 */
  checkIntervalMs?: number;
}

/** One server HAProxy should hold for a backend. */
export interface DesiredServer {
  name: string;
  /** Instance id (ServiceRoute backend id). */
  id: string;
  release: number;
  host: string;
  port: number;
  weight: number;
}

export function safeName(name: string, what: string): string {
  if (!SAFE_NAME.test(name)) {
    throw SlipwayError.of(
      'HAPROXY_UNSUPPORTED',
      `${what} ${JSON.stringify(name)} cannot be a HAProxy name (letters, digits, _ . : - only)`,
      {
        hint: 'Service names and instance ids come from slipway.yaml; rename the service.',
      },
    );
  }
  return name;
}

export const backendName = (service: string) => safeName(`be_${service}`, 'service');
export const previewBackendName = (service: string) => safeName(`be_${service}_preview`, 'service');
export const serverName = (release: number, id: string) => safeName(`r${release}-${id}`, 'instance id');

/** Release and instance id back from a server name. */
export function parseServerName(name: string): { release: number; id: string } | undefined {
  const m = /^r(\d+)-(.+)$/.exec(name);
  return m ? { release: Number(m[1]), id: m[2]! } : undefined;
}

/** HAProxy's weight range: a server's share is weight / sum of weights of the backend. */
export const MAX_WEIGHT = 256;

/**
 * The servers of the service's main backend: every pool's backends, each weighted so that the
 * pools' shares are the route's pool weights (a pool's weight is split evenly among its
 * backends, as the built-in router's least-loaded choice inside a pool does on average), scaled
 * so the largest server weight is 256 (HAProxy's maximum) and none of a weighted pool drops to 0.
 */
export function mainServers(route: ServiceRoute): DesiredServer[] {
  const raw = route.pools.flatMap((p) => p.backends.map((b) => ({ p, b, share: p.weight > 0 ? p.weight / p.backends.length : 0 })));
  const top = Math.max(0, ...raw.map((r) => r.share));
  return raw.map(({ p, b, share }) => ({
    name: serverName(p.release, b.id),
    id: b.id,
    release: p.release,
    host: b.host,
    port: b.port,
    weight: share === 0 ? 0 : Math.max(1, Math.round((share / top) * MAX_WEIGHT)),
  }));
}

/** The preview backend's servers: the preview release's backends, equally weighted. */
export function previewServers(route: ServiceRoute): DesiredServer[] {
  if (!route.preview) return [];
  const pool = route.pools.find((p) => p.release === route.preview!.release);
  return (pool?.backends ?? []).map((b) => ({
    name: serverName(pool!.release, b.id),
    id: b.id,
    release: pool!.release,
    host: b.host,
    port: b.port,
    weight: 1,
  }));
}

/** The `check` arguments of every server (also given to `add server`). */
export function checkArgs(opts: HaproxyOptions): string {
  return `check inter ${opts.checkIntervalMs ?? 1000} fall 2 rise 1`;
}

export function renderConfig(routes: ServiceRoute[], socketPath: string, opts: HaproxyOptions): string {
  const out = [
    '# Written by Slipway (src/loadbalancer/haproxy/config-file.ts) from routes.json; it is',
    '# rewritten on every change, so edits here are lost. See docs/load-balancer.md.',
    'global',
    // expose-fd listeners: a reload (-x) takes the listening sockets over, so no connection is refused.
    `  stats socket ${socketPath} mode 600 level admin expose-fd listeners`,
    '  stats timeout 30s',
    '  log stderr format raw local0 warning',
    '  maxconn 4096',
    // Bounds how long an old process lingers after a reload (see idle-close-on-response).
    '  hard-stop-after 30s',
    '',
    'defaults',
    '  mode http',
    '  log global',
    // On a reload the old process must not close idle keep-alive connections under a client that
    // is sending on them (that client would see a reset): it answers their next request with
    // Connection: close instead.
    '  option idle-close-on-response',
    '  option redispatch 1',
    '  retries 3',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout http-keep-alive 4s',
    '  timeout check 2s',
    '',
  ];
  const backend = (name: string, servers: DesiredServer[]) => {
    out.push(`backend ${name}`, '  balance roundrobin');
    if (opts.healthPath) out.push(`  option httpchk GET ${opts.healthPath}`);
    for (const s of servers) out.push(`  server ${s.name} ${s.host}:${s.port} weight ${s.weight} ${checkArgs(opts)}`);
    out.push('');
  };
  for (const r of routes) {
    out.push(
      `frontend fe_${safeName(r.service, 'service')}`,
      `  bind ${r.listen.host}:${r.listen.port}`,
      `  default_backend ${backendName(r.service)}`,
      '',
    );
    backend(backendName(r.service), mainServers(r));
    if (r.preview) {
      out.push(
        `frontend fe_${r.service}_preview`,
        `  bind ${r.preview.host}:${r.preview.port}`,
        `  default_backend ${previewBackendName(r.service)}`,
        '',
      );
      backend(previewBackendName(r.service), previewServers(r));
    }
  }
  return out.join('\n');
}

/** The listeners of a route table: when this changes, HAProxy must be reloaded (frontends cannot be added at run time). */
export function listenerKey(routes: ServiceRoute[]): string {
  return JSON.stringify(
    routes
      .map((r) => [r.service, r.listen.host, r.listen.port, r.preview?.host ?? null, r.preview?.port ?? null])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  );
}
