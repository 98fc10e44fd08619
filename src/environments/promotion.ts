/**
 * Environment promotion (`slipway ship SERVICE --from staging --to production`): the exact
 * artifact (same digest) that succeeded in the source environment becomes a new release of the
 * target, with the target's configuration, rolled out like any deploy. The release records its
 * evidence. Not to be confused with `slipway promote`, which moves a canary or blue-green rollout
 * on within one environment (ADR 0018).
 */
import { SlipwayError } from '../core/errors.js';
import { currentUser } from '../core/user.js';
import type { Controller } from '../controller/controller.js';
import { beginRollout, refuseIfRolling, releaseFloor, releaseSecrets } from '../controller/deploys.js';
import { configHashOf, runsSame } from '../controller/drift.js';
import type { ShipRequest, ShipResponse } from '../api/types.js';
import { checkGates } from '../controller/gates.js';
import { enforcePolicies } from '../controller/policy-gate.js';
import type { RolloutProgress } from '../rollout/types.js';
import { checkReleaseGates } from './release-gates.js';
import { rolledBackAfter, succeededIn } from './evidence.js';

export async function ship(target: Controller, service: string, req: ShipRequest): Promise<ShipResponse> {
  const config = target.loadConfig();
  const spec = config.services[service];
  if (!spec) {
    throw SlipwayError.of('SERVICE_NOT_FOUND', `no service named "${service}" in ${target.configPath}`, {
      hint: `Services: ${Object.keys(config.services).join(', ')}`,
    });
  }
  const requires = config.environments[target.environment]?.requires ?? [];
  const from = req.from ?? (requires.length === 1 ? requires[0] : undefined);
  if (from === undefined) {
    throw SlipwayError.of('PROMOTION_SOURCE_INVALID', `say which environment ${service} is shipped from`, {
      hint: `slipway ship ${service} --from <environment> --to ${target.environment}`,
    });
  }
  if (from === target.environment) {
    throw SlipwayError.of('PROMOTION_SOURCE_INVALID', `${service} cannot be shipped from ${from} to itself`, {
      hint: `Use slipway deploy ${service} --env ${from} to deploy within one environment.`,
    });
  }
  const source = target.project.resolve(from);
  const active = await source.store.activeRollout(source.environment, service);
  const number = req.release ?? (await source.store.getCurrentRelease(source.environment, service));
  if (number === null) {
    throw SlipwayError.of('PROMOTION_NOT_VERIFIED', `${service} has never been deployed to ${from}, so nothing has succeeded there`, {
      hint: `Deploy it there first: slipway deploy ${service} --env ${from}`,
    });
  }
  const release = await source.store.getRelease(source.environment, service, number);
  if (!release) {
    throw SlipwayError.of('RELEASE_NOT_FOUND', `${service} has no release ${number} in ${from}`, {
      hint: `See them with: slipway history ${service} --env ${from}`,
    });
  }
  const proof = await succeededIn(source, service, { release: number });
  if (!proof) {
    const rollback = rolledBackAfter(await source.store.listRollouts(source.environment, service, 1000), number, 0);
    const why =
      active && active.toRelease === number
        ? `its rollout #${active.id} is still ${active.phase.toLowerCase()}`
        : release.outcome === 'failed'
          ? 'its rollout failed there'
          : rollback
            ? `it was rolled back there (rollout #${rollback.id}, to release ${rollback.toRelease})`
            : `its outcome there is ${release.outcome}`;
    throw SlipwayError.of('PROMOTION_NOT_VERIFIED', `release ${number} of ${service} has not succeeded in ${from}: ${why}`, {
      hint: `Ship a release that went live in ${from} (slipway history ${service} --env ${from}), or wait for its rollout to end.`,
      details: { service, from, release: number, outcome: release.outcome },
    });
  }
  if (!release.image && !target.artifacts.has(release.digest)) {
    throw SlipwayError.of('RELEASE_PRUNED', `the artifact of release ${number} of ${service} in ${from} was pruned`, {
      hint: `Deploy it to ${from} again, then ship it.`,
    });
  }
  await refuseIfRolling(target, service);
  const by = req.by ?? currentUser();
  // The target's gates, as for a deploy: deployment windows now (an approval is waited for by the rollout).
  const gate = await checkGates(target, {
    environment: target.environment,
    service,
    by,
    ...(req.override ? { override: { reason: req.reason ?? '' } } : {}),
  });
  // The target environment's own secrets, as a deploy there would take them.
  const secrets = await releaseSecrets(target, config.app, service, spec);
  const configHash = configHashOf(spec);
  const current = await target.store.getCurrentRelease(target.environment, service);
  if (current !== null) {
    const cur = await target.release(service, current);
    if (runsSame(cur, release.digest, configHash, secrets?.hash ?? null))
      throw SlipwayError.of(
        'ALREADY_CURRENT',
        `release ${current} of ${service} in ${target.environment} already runs ${release.digest.slice(0, 19)}`,
      );
  }
  const policyWarnings = await enforcePolicies(target, {
    action: 'promotion',
    service,
    release: { digest: release.digest, configHash, spec },
    current,
    config,
    by,
    ...(req.message !== undefined ? { message: req.message } : {}),
  });
  const gates = await checkReleaseGates({ target, service, digest: release.digest, kind: 'ship', evidence: proof, by });
  const evidence = { ...proof, checks: [...proof.checks, ...gates.checks] };
  const message = req.message ?? `shipped from ${from} (release ${number})`;
  const created = await target.store.createRelease({
    environment: target.environment,
    service,
    digest: release.digest,
    configHash,
    spec,
    message,
    createdBy: by,
    rollbackOf: null,
    createdAt: target.clock.now(),
    evidence,
    secrets,
    ...(release.image ? { image: release.image } : {}),
    atLeast: releaseFloor(target, service),
  });
  await target.event(service, null, 'release.shipped', `release ${created.number} of ${service} shipped from ${from} (release ${number})`, {
    evidence,
  });
  const rollout = await beginRollout(target, service, 'deploy', current, created.number, message);
  const approval = (rollout.progress as RolloutProgress).approval;
  return {
    service,
    release: created.number,
    rolloutId: rollout.id,
    digest: release.digest,
    buildLog: [],
    evidence,
    ...(approval ? { approval: { command: approval.command } } : {}),
    ...(gate.overridden ? { overridden: gate.overridden } : {}),
    ...(policyWarnings.length ? { policyWarnings } : {}),
  };
}
