/**
 * Gates that need the built artifact, checked before a release is recorded in an environment, for
 * a deploy (`slipway deploy`, `slipway up`) and a promotion (`slipway ship`) alike: `requires:`.
 * Each passes (and names itself in the list returned, which a promotion keeps as evidence) or
 * throws a SlipwayError saying why not and what to do. The gates checked before any work
 * (deployment windows, approval) are in controller/gates.ts; policies in controller/policy-gate.ts.
 */
import { SlipwayError } from '../core/errors.js';
import type { Controller } from '../controller/controller.js';
import type { PromotionEvidence } from '../store/types.js';
import { succeededIn } from './evidence.js';

export interface ReleaseGateRequest {
  /** The controller of the environment the release is for. */
  target: Controller;
  service: string;
  digest: string;
  kind: 'deploy' | 'ship';
  /** For a promotion: what the release proved in its source environment. */
  evidence?: PromotionEvidence;
  by: string;
}

/** Runs every gate; resolves with the names of those that passed (and evidence found on the way), or throws the first refusal. */
export async function checkReleaseGates(req: ReleaseGateRequest): Promise<{ checks: string[]; evidence?: PromotionEvidence }> {
  const checks: string[] = [];
  const evidence = await requiresGate(req, checks);
  return evidence ? { checks, evidence } : { checks };
}

/**
 * `requires: [staging]`: the artifact (by digest) must have succeeded in one of those environments.
 * A promotion brings its evidence; a deploy is looked up, so a build that already succeeded in
 * staging may be deployed directly (and carries the evidence found).
 */
async function requiresGate(req: ReleaseGateRequest, checks: string[]): Promise<PromotionEvidence | undefined> {
  const { target, service, digest } = req;
  const requires = target.project.currentConfig?.environments[target.environment]?.requires ?? [];
  if (requires.length === 0) return req.evidence;
  if (req.evidence) {
    if (!requires.includes(req.evidence.environment)) {
      throw SlipwayError.of(
        'PROMOTION_SOURCE_INVALID',
        `${target.environment} takes releases from ${requires.join(' or ')} (requires:), not from ${req.evidence.environment}`,
        { hint: `Ship from ${requires[0]}: slipway ship ${service} --from ${requires[0]} --to ${target.environment}` },
      );
    }
    checks.push(`requires: succeeded in ${req.evidence.environment} (release ${req.evidence.release})`);
    return req.evidence;
  }
  for (const env of requires) {
    const found = await succeededIn(target.project.environment(env), service, { digest });
    if (found) {
      checks.push(`requires: succeeded in ${env} (release ${found.release})`);
      return found;
    }
  }
  throw SlipwayError.of(
    'PROMOTION_NOT_VERIFIED',
    `${service} build ${digest.slice(0, 19)} has not succeeded in ${requires.join(' or ')}, which ${target.environment} requires`,
    {
      hint: `Deploy it to ${requires[0]} first (slipway deploy ${service} --env ${requires[0]}), then: slipway ship ${service} --from ${requires[0]} --to ${target.environment}`,
      details: { service, digest, environment: target.environment, requires },
    },
  );
}
