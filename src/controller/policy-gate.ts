/**
 * The controller's side of policies as code: before a deploy, rollback or promotion starts, build
 * the policy context from the store and the config, evaluate every policy of slipway.yaml, record
 * what warn and audit policies said, and refuse with POLICY_DENIED when an enforce policy is
 * violated. One call per action (`enforcePolicies`), so the actions themselves stay readable.
 */
import { currentUser } from '../core/user.js';
import { SlipwayError } from '../core/errors.js';
import type { ServiceConfig, SlipwayConfig, StrategyConfig } from '../config/schema.js';
import { compilePolicies } from '../policy/compile.js';
import type { PolicyAction, PolicyApproval, PolicyContext } from '../policy/context.js';
import { describeViolation, evaluatePolicies, type PolicyVerdict, type PolicyViolation } from '../policy/evaluate.js';
import type { Controller } from './controller.js';

/** What is about to roll out, for the policy context. */
export interface PolicyCheck {
  action: PolicyAction;
  service: string;
  /** The release about to serve: artifact, config and number (a deploy's, not yet recorded, gets the next number). */
  release: { number?: number; digest: string; configHash: string; spec: ServiceConfig };
  message?: string;
  by?: string;
  /** The number of the release serving now, or null. */
  current: number | null;
  /** Approvals recorded for this rollout, once environments can require them. */
  approvals?: PolicyApproval[];
  /** The config just loaded by the caller; default: slipway.yaml on disk, else the last valid config. */
  config?: SlipwayConfig;
}

/** A rollout that ended this way within the window counts in `recentFailures` (an abort by a person does not). */
const FAILURE_WINDOW_MS = 24 * 60 * 60 * 1000;
const PERSON_REASONS = new Set(['Aborted', 'SwitchedBack']);

/**
 * Evaluates the policies of the current slipway.yaml for `check`.
 * @returns the warn-mode violations (recorded as events; callers show them to the user)
 * @throws SlipwayError POLICY_DENIED naming every violated enforce policy, with `details.violations`
 */
export async function enforcePolicies(c: Controller, check: PolicyCheck): Promise<PolicyViolation[]> {
  const evaluated = await evaluateFor(c, check);
  if (!evaluated) return [];
  const { ctx, verdict } = evaluated;
  const what = `${check.action} of ${check.service} to release ${ctx.release.number}`;
  if (verdict.allowed) {
    for (const v of [...verdict.warned, ...verdict.audited]) {
      await c.event(check.service, null, `policy.${v.mode === 'warn' ? 'warned' : 'audited'}`, `${what}: ${describeViolation(v)}`, {
        action: check.action,
        release: ctx.release.number,
        ...v,
      });
    }
    return verdict.warned;
  }
  // A refused action is one event; what warn and audit policies said about it is in its data.
  await c.event(check.service, null, 'policy.denied', `${what} refused: ${verdict.denied.map(describeViolation).join('; ')}`, {
    action: check.action,
    release: ctx.release.number,
    violations: verdict.denied,
    warned: verdict.warned,
    audited: verdict.audited,
  });
  const count = verdict.denied.length === 1 ? 'a policy' : `${verdict.denied.length} policies`;
  throw SlipwayError.of('POLICY_DENIED', `${what} refused by ${count}: ${verdict.denied.map(describeViolation).join('; ')}`, {
    hint: 'No release was recorded and no rollout started: the serving release goes on serving. Fix what the policy objects to, or change the policy (or its mode: warn, audit) in slipway.yaml; `slipway policy test` checks policies offline.',
    details: {
      action: check.action,
      service: check.service,
      release: ctx.release.number,
      violations: verdict.denied,
      warnings: verdict.warned,
    },
  });
}

/**
 * The verdict for `check` without acting on it: nothing recorded, nothing thrown (for a preview
 * such as `slipway plan`). Undefined when there are no policies.
 */
export async function evaluateFor(c: Controller, check: PolicyCheck): Promise<{ ctx: PolicyContext; verdict: PolicyVerdict } | undefined> {
  const config = check.config ?? currentConfig(c);
  if (!config || config.policies.length === 0) return undefined;
  // Checked when the config was loaded, so this compiles without problems; compiled expressions are cached by text.
  const { policies } = compilePolicies(config.policies);
  const ctx = await policyContext(c, config, check);
  return { ctx, verdict: evaluatePolicies(policies, ctx) };
}

/** The config on disk when it is valid, else the last valid one: a broken slipway.yaml must not block a rollback. */
function currentConfig(c: Controller): SlipwayConfig | undefined {
  try {
    return c.loadConfig();
  } catch {
    return c.currentConfig;
  }
}

async function policyContext(c: Controller, config: SlipwayConfig, check: PolicyCheck): Promise<PolicyContext> {
  const now = c.clock.now();
  const { spec } = check.release;
  const rollouts = await c.store.listRollouts(c.environment, check.service, 200);
  const recentFailures = rollouts.filter(
    (r) =>
      r.finishedAt !== null &&
      r.finishedAt >= now - FAILURE_WINDOW_MS &&
      (r.phase === 'Failed' || (r.phase === 'RolledBack' && !PERSON_REASONS.has(r.reason))),
  ).length;
  const cur = check.current !== null ? await c.release(check.service, check.current).catch(() => undefined) : undefined;
  const number = check.release.number ?? ((await c.store.listReleases(c.environment, check.service, 1))[0]?.number ?? 0) + 1;
  return {
    action: check.action,
    environment: { name: c.environment, target: targetKind(config.environments[c.environment]?.target) },
    service: { name: check.service, instances: spec.instances, port: spec.port, strategy: spec.strategy.type },
    release: {
      number,
      digest: check.release.digest,
      message: check.message ?? '',
      previousNumber: cur?.number ?? null,
      previousDigest: cur?.digest ?? null,
      firstDeploy: cur === undefined,
      digestChanged: cur?.digest !== check.release.digest,
      configChanged: cur?.configHash !== check.release.configHash,
    },
    strategy: strategyFacts(spec.strategy),
    actor: { name: check.by ?? currentUser() },
    approvals: check.approvals ?? [],
    now,
    recentFailures,
  };
}

/** The facts of a strategy a policy can test. */
export function strategyFacts(s: StrategyConfig): PolicyContext['strategy'] {
  if (s.type === 'canary') {
    const weights = s.steps.flatMap((st) => ('weight' in st ? [st.weight] : []));
    return {
      type: s.type,
      steps: s.steps.length,
      analysis: [...new Set([...s.analysis, ...s.steps.flatMap((st) => ('analysis' in st ? st.analysis : []))])],
      maxWeight: Math.max(0, ...weights),
    };
  }
  if (s.type === 'blueGreen')
    return { type: s.type, steps: 0, analysis: [...new Set([...s.prePromotionAnalysis, ...s.postPromotionAnalysis])], maxWeight: 100 };
  return { type: s.type, steps: 0, analysis: [], maxWeight: 100 };
}

/** The kind of target a policy sees: "local" or "ssh". */
function targetKind(target: SlipwayConfig['environments'][string]['target'] | undefined): string {
  return target === undefined || target === 'local' ? 'local' : 'ssh';
}
