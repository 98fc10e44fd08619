/**
 * Restart and scale: rollouts that keep the serving release (rollout/maintenance.ts converges
 * them), and the instance count `slipway scale` set, which lasts until the serving release changes
 * or `slipway up` puts slipway.yaml's count back.
 */
import { SlipwayError } from '../core/errors.js';
import { currentUser } from '../core/user.js';
import type { Rollout } from '../store/types.js';
import type { Store } from '../store/store.js';
import type { RolloutProgress } from '../rollout/types.js';
import type { ExecContextResponse, RestartRequest, ScaleRequest } from '../api/types.js';
import { beginRollout, refuseIfRolling } from './deploys.js';
import type { Controller } from './controller.js';
import { unitName } from './environment-scope.js';

export const MAX_INSTANCES = 100;

/** The count set by `slipway scale` for the serving release, when one was. */
export interface ScaleOverride {
  instances: number;
  rolloutId: number;
}

/**
 * Read from the rollouts (durable, in every backup): the newest rollout that completed decides.
 * A scale of the serving release sets the count, and a restart carries the count it ran at (so
 * that any number of restarts keep it); a deploy or rollback means the release's own count.
 * Failed and aborted rollouts change nothing and are passed over.
 */
export async function scaleOverride(
  store: Store,
  environment: string,
  service: string,
  current: number | null,
): Promise<ScaleOverride | undefined> {
  if (current === null) return undefined;
  for (let limit = 50; ; limit *= 4) {
    const rollouts = await store.listRollouts(environment, service, limit);
    const decisive = rollouts.find((r) => r.finishedAt !== null && r.phase === 'Healthy');
    if (decisive) {
      const instances = (decisive.progress as RolloutProgress).instances;
      const keeps = (decisive.kind === 'scale' || decisive.kind === 'restart') && decisive.toRelease === current;
      return keeps && typeof instances === 'number' ? { instances, rolloutId: decisive.id } : undefined;
    }
    if (rollouts.length < limit) return undefined;
  }
}

/** Replaces every instance of the serving release with a new one, surge first. */
export async function restart(c: Controller, service: string, req: RestartRequest = {}): Promise<Rollout> {
  return c.withLock(service, async () => {
    await refuseIfRolling(c, service);
    const current = await serving(c, service, 'restart');
    const replace = c.driver
      .list()
      .filter((i) => i.service === service && i.release === current && !c.isRetiring(i.id))
      .map((i) => i.id)
      .sort();
    const scaled = await c.scaleOverride(service, current);
    const by = req.by ?? currentUser();
    return beginRollout(c, service, 'restart', current, current, req.message ?? `restart by ${by}`, {
      replace,
      ...(scaled ? { instances: scaled.instances } : {}),
    });
  });
}

export interface ScaleResult {
  rollout: Rollout | null;
  release: number;
  instances: number;
  was: number;
  configured: number;
}

/** Sets how many instances the serving release runs; `rollout` is null when it already runs that many. */
export async function scale(c: Controller, service: string, req: ScaleRequest): Promise<ScaleResult> {
  const n = req.instances;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_INSTANCES) {
    throw SlipwayError.of('SCALE_OUT_OF_RANGE', `instances must be a whole number from 0 to ${MAX_INSTANCES} (got ${JSON.stringify(n)})`, {
      hint: `Give a count such as: slipway scale ${service} 3`,
    });
  }
  return c.withLock(service, async () => {
    await refuseIfRolling(c, service);
    const current = await serving(c, service, 'scale');
    const configured = (await c.release(service, current)).spec.instances;
    const was = (await c.scaleOverride(service, current))?.instances ?? configured;
    if (was === n) return { rollout: null, release: current, instances: n, was, configured };
    const by = req.by ?? currentUser();
    const rollout = await beginRollout(c, service, 'scale', current, current, req.message ?? `scale ${was} → ${n} by ${by}`, {
      instances: n,
    });
    return { rollout, release: current, instances: n, was, configured };
  });
}

/** What `slipway exec` needs to run a command as an instance would: the release directory and its environment. */
export async function execContext(c: Controller, service: string): Promise<ExecContextResponse> {
  const current = await serving(c, service, 'exec in');
  const release = await c.release(service, current);
  if (release.image)
    throw SlipwayError.of(
      'EXEC_NOT_SUPPORTED',
      `${service} runs an image: slipway exec runs commands in a release directory, which it has none of`,
      {
        hint: `Use podman exec on one of its containers (\`podman ps --filter label=io.slipway.service\`).`,
      },
    );
  const dir = await c.artifacts.materialize(release.digest, c.paths.releases);
  // As the driver sets them for an instance (drivers/local/spawn-instance.ts), but no PORT: a
  // one-off command is not an instance and must not take (or think it has) the service's port.
  const unit = unitName(c.environment, service);
  const env = {
    ...release.spec.env,
    SLIPWAY_ENVIRONMENT: c.environment,
    SLIPWAY_RELEASE: String(current),
    SLIPWAY_INSTANCE: `${unit}-${current}-exec`,
    SLIPWAY_SERVICE: unit,
  };
  const secrets = release.secrets
    ? { app: release.secrets.app ?? (c.currentConfig ?? c.loadConfig()).app, environment: c.environment, values: release.secrets.values }
    : null;
  return { service, release: current, dir, env, secrets };
}

async function serving(c: Controller, service: string, what: string): Promise<number> {
  const current = await c.store.getCurrentRelease(c.environment, service);
  if (current === null) {
    throw SlipwayError.of('NOT_DEPLOYED', `${service} has no serving release to ${what}`, {
      hint: `Deploy it first: slipway up (or slipway deploy ${service})`,
    });
  }
  return current;
}
