import { z } from 'zod';
import { SlipwayError } from '../core/errors.js';
import type { ServiceRoute } from './types.js';

/**
 * Validation of a ServiceRoute arriving at the admin API (or read back from routes.json).
 * Unknown keys are rejected so a typo in the controller fails loudly instead of being ignored.
 */

const ANY_HOST = new Set(['0.0.0.0', '::', '']);

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

const backendSchema = z.strictObject({
  id: z.string().min(1, 'expected a non-empty backend id'),
  host: z.string().min(1, 'expected a host name or address'),
  port: z.number().int().min(1).max(65535),
});

const poolSchema = z.strictObject({
  release: z.number().int().min(0),
  weight: z.number().min(0).refine(Number.isFinite, 'expected a finite weight'),
  backends: z.array(backendSchema),
});

/** An HTTP field name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const ruleSchema = z.strictObject({
  match: z.strictObject({
    header: z
      .record(z.string().regex(HEADER_NAME, 'expected an HTTP header name'), z.string())
      .refine((h) => Object.keys(h).length > 0, 'expected at least one header to match'),
  }),
  release: z.number().int().min(0),
});

const routeSchema = z.strictObject({
  service: z.string().regex(NAME, 'expected a service name of letters, digits, ".", "_" or "-"'),
  listen: z.strictObject({
    host: z.string().min(1, 'expected a host name or address to listen on'),
    // 0 asks the router for a free port (tests use it); the stored route then holds the real one.
    port: z.number().int().min(0).max(65535),
  }),
  pools: z.array(poolSchema),
  rules: z.array(ruleSchema).optional(),
  stickiness: z.enum(['cookie', 'none']).optional(),
  preview: z
    .strictObject({
      host: z.string().min(1, 'expected a host name or address to listen on'),
      port: z.number().int().min(0).max(65535),
      release: z.number().int().min(0),
    })
    .optional(),
});

/**
 * Parses and checks a route, reporting every problem with its path at once
 * (`pools.0.backends.1.port: ...`). Throws SlipwayError `ROUTE_INVALID` (400).
 */
export function parseServiceRoute(input: unknown, expectedService?: string): ServiceRoute {
  const result = routeSchema.safeParse(input);
  const problems: string[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = issue.path.map(String).join('.');
      problems.push(path === '' ? issue.message : `${path}: ${issue.message}`);
    }
  } else {
    const route = result.data;
    if (expectedService !== undefined && route.service !== expectedService) {
      problems.push(`service: "${route.service}" does not match the URL's service "${expectedService}"`);
    }
    const releases = new Set<number>();
    const ids = new Set<string>();
    route.pools.forEach((pool, i) => {
      if (releases.has(pool.release)) problems.push(`pools.${i}.release: release ${pool.release} appears in more than one pool`);
      releases.add(pool.release);
      pool.backends.forEach((b, j) => {
        if (ids.has(b.id)) problems.push(`pools.${i}.backends.${j}.id: backend "${b.id}" appears more than once`);
        ids.add(b.id);
      });
    });
    route.rules?.forEach((rule, i) => {
      const seen = new Set<string>();
      for (const name of Object.keys(rule.match.header)) {
        const lower = name.toLowerCase();
        if (seen.has(lower))
          problems.push(`rules.${i}.match.header.${name}: header "${name}" appears more than once (names are case-insensitive)`);
        seen.add(lower);
      }
    });
    const p = route.preview;
    if (
      p !== undefined &&
      p.port !== 0 &&
      p.port === route.listen.port &&
      (p.host === route.listen.host || ANY_HOST.has(p.host) || ANY_HOST.has(route.listen.host))
    ) {
      problems.push(`preview.port: port ${p.port} is already the service's listen port`);
    }
  }
  if (problems.length > 0) {
    throw SlipwayError.of(
      'ROUTE_INVALID',
      `invalid route${expectedService ? ` for service "${expectedService}"` : ''}: ${problems.join('; ')}`,
      {
        hint: 'A route is {service, listen: {host, port}, pools: [{release, weight, backends: [{id, host, port}]}], rules?: [{match: {header: {name: value}}, release}], stickiness?: "cookie" | "none", preview?: {host, port, release}}.',
        details: { problems },
      },
    );
  }
  return result.data as ServiceRoute;
}
