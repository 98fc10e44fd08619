/**
 * Turns the engine's routing decision (instances per release, weights, header rules, stickiness,
 * preview) into the router's `ServiceRoute`. Pure.
 */
import type { ServiceConfig } from '../config/schema.js';
import type { InstanceStatus } from '../drivers/driver.js';
import type { ServiceRoute } from '../router/types.js';
import type { TransitionResult } from '../rollout/types.js';

export function routeTable(
  service: string,
  spec: ServiceConfig,
  result: Pick<TransitionResult, 'route' | 'routing'>,
  instances: InstanceStatus[],
): ServiceRoute {
  const byId = new Map(instances.map((i) => [i.id, i]));
  const backends = (ids: string[]) =>
    ids.filter((id) => byId.has(id)).map((id) => ({ id, host: byId.get(id)!.host, port: byId.get(id)!.port }));
  const pools = result.route.map((p) => ({ release: p.release, weight: p.weight ?? p.ids.length, backends: backends(p.ids) }));
  const table: ServiceRoute = { service, listen: { host: spec.host, port: spec.port }, pools };
  const routing = result.routing;
  if (!routing) return table;
  // The preview release needs a pool the preview listener can use; at weight 0 it gets no user traffic.
  if (routing.previewRelease !== undefined && !pools.some((p) => p.release === routing.previewRelease)) {
    pools.push({ release: routing.previewRelease, weight: 0, backends: backends(routing.previewIds ?? []) });
  }
  const previewPort = spec.strategy.type === 'blueGreen' ? spec.strategy.previewPort : undefined;
  if (routing.previewRelease !== undefined && previewPort !== undefined)
    table.preview = { host: spec.host, port: previewPort, release: routing.previewRelease };
  if (routing.match && routing.canaryRelease !== undefined)
    table.rules = [{ match: { header: routing.match.header }, release: routing.canaryRelease }];
  if (routing.stickiness === 'cookie') table.stickiness = 'cookie';
  return table;
}
