import { z } from 'zod';
import { SlipwayError } from '../core/errors.js';
import type { ServiceRoute } from './types.js';

/**
 * Validation of a ServiceRoute arriving at the admin API (or read back from routes.json).
 * Unknown keys are rejected so a typo in the controller fails loudly instead of being ignored.
 */

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

const routeSchema = z.strictObject({
  service: z.string().regex(NAME, 'expected a service name of letters, digits, ".", "_" or "-"'),
  listen: z.strictObject({
    host: z.string().min(1, 'expected a host name or address to listen on'),
    // 0 asks the router for a free port (tests use it); the stored route then holds the real one.
    port: z.number().int().min(0).max(65535),
  }),
  pools: z.array(poolSchema),
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
  }
  if (problems.length > 0) {
    throw new SlipwayError('invalid', 'ROUTE_INVALID', `invalid route${expectedService ? ` for service "${expectedService}"` : ''}: ${problems.join('; ')}`, {
      hint: 'A route is {service, listen: {host, port}, pools: [{release, weight, backends: [{id, host, port}]}]}.',
      details: { problems },
    });
  }
  return result.data as ServiceRoute;
}
