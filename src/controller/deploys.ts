/**
 * Deploys, rollbacks and the start of every rollout: build from the config on disk, record an
 * immutable release, refuse a second rollout of the same service, hand the rest to the loop.
 */
import { currentUser } from '../core/user.js';
import { SlipwayError } from '../core/errors.js';
import type { ServiceConfig, SlipwayConfig } from '../config/schema.js';
import { buildArtifact, type BuildArtifactResult } from '../artifact/build.js';
import { imageRelease } from './image-releases.js';
import type { CheckDefinition } from '../analysis/source.js';
import type { Release, Rollout, RolloutKind } from '../store/types.js';
import type { RolloutProgress } from '../rollout/types.js';
import type { ApplyResponse, DeployRequest, DeployResponse, RollbackRequest, SkippedDeploy } from '../api/types.js';
import { deployOrder } from '../config/environments.js';
import { checkReleaseGates } from '../environments/release-gates.js';
import { abort } from './rollout-commands.js';
import {
  configHashOf,
  fingerprintOf,
  knownDigest,
  recordBuild,
  rolledBackMatch,
  rolledBackNote,
  runsSame,
  sourceFingerprint,
} from './drift.js';
import type { Controller } from './controller.js';
import { approvalFor, checkGates, type GateOutcome, type GateRequest } from './gates.js';
import { enforcePolicies } from './policy-gate.js';
import type { PolicyViolation } from '../policy/evaluate.js';
import { requireSecretsSet, snapshotSecrets, type ReleaseSecrets } from '../secrets/release-secrets.js';

/** Builds the service from the config on disk, records a release and starts its rollout. */
export async function deploy(c: Controller, service: string, req: DeployRequest = {}): Promise<DeployResponse> {
  const environment = c.environment;
  if (c.building.has(service)) {
    throw SlipwayError.of('BUILD_IN_PROGRESS', `a deploy of ${service} is already building`, {
      hint: 'Wait for it to finish, then deploy again.',
    });
  }
  await refuseIfRolling(c, service);
  // The environment's gates (deployment windows) before any work; `slipway up` asks them only for
  // a service that changed, below, so that an unchanged project is never refused.
  const gateRequest: GateRequest = {
    environment,
    service,
    by: req.by ?? currentUser(),
    ...(req.override ? { override: { reason: req.reason ?? '' } } : {}),
  };
  let gate: GateOutcome | undefined = req.onlyIfChanged ? undefined : await checkGates(c, gateRequest);
  // A deploy without a router would wait for its deadline: get the router back now, or fail with why not.
  await c.routerWatch.ensure();
  c.building.add(service);
  try {
    const config = c.loadConfig();
    const spec = serviceConfig(c, config, service);
    // Before anything is built or started: every declared secret must be set (and decryptable) in this environment.
    const secrets = await releaseSecrets(c, config.app, service, spec);
    const secretsHash = secrets?.hash ?? null;
    // Taken from the build's own listing, before the build, so it describes what was built even if
    // the tree changes meanwhile.
    let fingerprint: string | undefined;
    const configHash = configHashOf(spec);
    const current = await c.store.getCurrentRelease(c.environment, service);
    // An image service: built with podman (and pushed) or resolved, pinned by digest; no artifact.
    const image = spec.image !== undefined ? await imageRelease(c, config, service, spec) : undefined;
    const unchanged =
      req.onlyIfChanged && !spec.build && spec.source !== undefined
        ? await unchangedSource(c, service, spec, current, configHash, secretsHash)
        : undefined;
    const built: BuildArtifactResult =
      (image && { digest: image.digest, bytes: 0, files: 0, buildLog: image.buildLog, durationMs: 0, reused: 0, steps: image.steps }) ??
      unchanged ??
      (await buildArtifact({
        sourceDir: spec.source!,
        buildCommand: spec.build,
        cache: spec.cache,
        noCache: req.noCache === true,
        onListed: (entries) => (fingerprint = fingerprintOf(entries, spec.build)),
        workRoot: c.paths.builds,
        store: c.artifacts,
        onOutput: (line) => c.log.info(`build ${service}: ${line}`),
      }));
    for (const st of built.steps) c.log.info(`build ${service}: ${st.name} ${st.ms} ms${st.note ? ` (${st.note})` : ''}`);
    const buildSteps = built.steps;
    if (fingerprint !== undefined) {
      try {
        recordBuild(c, service, fingerprint, built.digest);
      } catch (err) {
        c.log.warn(`build ${service}: source fingerprint not recorded: ${(err as Error).message}`);
      }
    }
    // Assemble the release directory while the release and rollout are recorded: the instance that
    // starts next joins this materialization (a failure is reported there, when it runs again).
    if (!image) c.artifacts.materialize(built.digest, c.paths.releases).catch(() => undefined);
    if (req.onlyIfChanged) {
      const cur = current !== null ? await c.release(service, current) : undefined;
      if (cur && runsSame(cur, built.digest, configHash, secretsHash)) {
        // `slipway up` makes slipway.yaml true again, the count `slipway scale` set included.
        const scaled = await c.scaleOverride(service, current);
        if (scaled && scaled.instances !== cur.spec.instances) {
          const rollout = await beginRollout(
            c,
            service,
            'scale',
            current,
            current!,
            `slipway up: back to slipway.yaml's ${cur.spec.instances} instance(s)`,
            { instances: cur.spec.instances },
          );
          return {
            service,
            release: current!,
            rolloutId: rollout.id,
            digest: built.digest,
            buildLog: built.buildLog,
            buildSteps,
            note: `release ${current} is current; back from ${scaled.instances} instance(s) (set by slipway scale) to slipway.yaml's ${cur.spec.instances}`,
          };
        }
        return { service, release: current!, rolloutId: null, digest: built.digest, buildLog: built.buildLog, buildSteps };
      }
      // A release that failed or was rolled back (automatically, or by `slipway rollback`) is not
      // tried again on its own: a person deploys or retries it.
      const back = rolledBackMatch(await c.store.listReleases(c.environment, service, 1), current, built.digest, configHash, secretsHash);
      if (back) {
        const retry = back.outcome === 'failed' ? ` (or \`slipway retry ${service}\` to run its rollout again)` : '';
        return {
          service,
          release: back.number,
          rolloutId: null,
          digest: built.digest,
          buildLog: built.buildLog,
          buildSteps,
          note: `${rolledBackNote(service, back.number)}${retry}`,
        };
      }
    }
    const policyWarnings = await enforcePolicies(c, {
      action: 'deploy',
      service,
      release: { digest: built.digest, configHash, spec },
      current,
      config,
      ...req,
    });
    await refuseIfRolling(c, service);
    gate ??= await checkGates(c, gateRequest);
    // Gates that need the build (requires:) before a release is recorded.
    const gates = await checkReleaseGates({ target: c, service, digest: built.digest, kind: 'deploy', by: req.by ?? currentUser() });
    const release = await c.store.createRelease({
      ...(gates.evidence ? { evidence: { ...gates.evidence, checks: [...gates.evidence.checks, ...gates.checks] } } : {}),
      environment: c.environment,
      service,
      digest: built.digest,
      configHash,
      spec,
      message: req.message ?? '',
      createdBy: req.by ?? currentUser(),
      rollbackOf: null,
      secrets,
      ...(image ? { image: image.image } : {}),
      createdAt: c.clock.now(),
      atLeast: releaseFloor(c, service),
    });
    const rollout = await beginRollout(c, service, 'deploy', current, release.number, req.message);
    const approval = (rollout.progress as RolloutProgress).approval;
    return {
      service,
      release: release.number,
      rolloutId: rollout.id,
      digest: built.digest,
      buildSteps,
      buildLog: built.buildLog,
      ...(approval ? { approval: { command: approval.command } } : {}),
      ...(gate.overridden ? { overridden: gate.overridden } : {}),
      ...(policyWarnings.length ? { policyWarnings } : {}),
    };
  } finally {
    c.building.delete(service);
  }
}

/**
 * The secrets a release of `service` in this environment takes now: ciphertexts and keyed hash
 * (ADR 0017), or null when it declares none. Every declared one must be set and decryptable.
 * @throws SlipwayError SECRET_NOT_SET, SECRET_DECRYPT_FAILED, SECRETS_KEY_*
 */
export function releaseSecrets(c: Controller, app: string, service: string, spec: ServiceConfig): Promise<ReleaseSecrets | null> {
  return snapshotSecrets({ configFile: c.configPath!, app, environment: c.environment, service, names: spec.secrets ?? [] });
}

/** Never reuse the number of a release that still runs (one the store forgot, after a restore). */
export function releaseFloor(c: Controller, service: string): number {
  return Math.max(0, ...c.driver.list().flatMap((i) => (i.service === service ? [i.release] : []))) + 1;
}

/**
 * For `slipway up`: a source without a build command that is, file for file (paths, sizes, modes,
 * mtimes), the tree the serving release was built from, with the same config and secrets, needs no
 * build. Besides saving the pack, this keeps an upgrade that changed the artifact format (ADR 0015)
 * from redeploying every unchanged service. A touched file only makes the source unknown: it is built.
 */
async function unchangedSource(
  c: Controller,
  service: string,
  spec: ServiceConfig,
  current: number | null,
  configHash: string,
  secretsHash: string | null,
): Promise<BuildArtifactResult | undefined> {
  if (current === null) return undefined;
  const started = performance.now();
  const fingerprint = await sourceFingerprint(spec.source!, spec.build).catch(() => undefined);
  const digest = fingerprint === undefined ? undefined : knownDigest(c, service, fingerprint);
  const cur = await c.release(service, current);
  if (digest === undefined || !runsSame(cur, digest, configHash, secretsHash)) return undefined;
  const ms = Math.round(performance.now() - started);
  const note = `source unchanged since release ${current}: not built`;
  return { digest, bytes: 0, files: 0, buildLog: [], durationMs: ms, reused: 0, steps: [{ name: 'list', ms, note }] };
}

/** Applies in progress per controller and service: a second `slipway up` joins the first one's deploy. */
const applying = new WeakMap<Controller, Map<string, Promise<DeployResponse>>>();

/**
 * Deploys every service of the config whose build or config differs from what serves (`slipway up`),
 * or with `services` those services (`slipway deploy a b`; with `force`, even when unchanged), in
 * dependsOn order.
 */
export async function apply(
  c: Controller,
  by?: string,
  opts: { services?: string[]; force?: boolean; message?: string } = {},
): Promise<ApplyResponse> {
  const config = c.loadConfig();
  for (const s of opts.services ?? []) serviceConfig(c, config, s);
  // A missing secret refuses the whole `up` (or `deploy a b`) before any service is built or started.
  requireSecretsSet(
    c.configPath!,
    c.environment,
    Object.fromEntries((opts.services ?? Object.keys(config.services)).map((n) => [n, config.services[n]?.secrets ?? []])),
  );
  await c.routerWatch.ensure();
  const deploys: DeployResponse[] = [];
  const skipped: SkippedDeploy[] = [];
  const inFlight = applying.get(c) ?? new Map<string, Promise<DeployResponse>>();
  applying.set(c, inFlight);
  // dependsOn: a service is deployed once the rollouts of its dependencies started here ended
  // Healthy; a dependency that failed (or was itself skipped) stops it (ADR 0018).
  const started = new Map<string, number>();
  const stopped = new Map<string, string>();
  // dependsOn is read from the project's config: an environment's layered services carry none.
  const project = c.project.currentConfig ?? config;
  for (const service of deployOrder(project, opts.services)) {
    const blocker = await blockedBy(c, project.services[service]?.dependsOn ?? [], started, stopped);
    if (blocker) {
      stopped.set(service, `dependency ${blocker}`);
      skipped.push({ service, reason: `not deployed: ${blocker}` });
      await c.event(service, null, 'deploy.skipped', `${service} not deployed: ${blocker}`, { blocker });
      continue;
    }
    const joined = inFlight.get(service);
    if (joined) {
      const d = await joined;
      deploys.push(d);
      if (d.rolloutId !== null) started.set(service, d.rolloutId);
      continue;
    }
    const active = await c.store.activeRollout(c.environment, service);
    if (active) {
      started.set(service, active.id);
      continue;
    }
    const p = deploy(c, service, { onlyIfChanged: !opts.force, message: opts.message ?? 'slipway up', by });
    inFlight.set(service, p);
    try {
      const d = await p;
      deploys.push(d);
      if (d.rolloutId !== null) started.set(service, d.rolloutId);
    } finally {
      inFlight.delete(service);
    }
  }
  return { deploys, ...(skipped.length ? { skipped } : {}), repaired: c.routerWatch.takeRepairs() };
}

/**
 * Why a service may not be deployed yet, or undefined when it may: waits for each dependency's
 * rollout started in this apply to end, and names the first that did not end Healthy (or was
 * skipped itself). Bounded by the rollouts' own progress deadlines, which always end them.
 */
async function blockedBy(
  c: Controller,
  deps: string[],
  started: Map<string, number>,
  stopped: Map<string, string>,
): Promise<string | undefined> {
  for (const dep of deps) {
    const why = stopped.get(dep);
    if (why !== undefined) return `${dep} was not deployed (${why})`;
    const id = started.get(dep);
    if (id === undefined) {
      // Not deployed here: it must already serve a release.
      if ((await c.store.getCurrentRelease(c.environment, dep)) === null) return `dependency ${dep} has no healthy release`;
      continue;
    }
    for (;;) {
      const r = await c.store.getRollout(id);
      if (!r) break;
      if (r.finishedAt !== null) {
        if (r.phase !== 'Healthy') return `dependency ${dep} failed (rollout #${id} ended ${r.phase}: ${r.message.split('\n')[0]})`;
        break;
      }
      if (!c.project.isRunning) return `dependency ${dep} did not finish: the controller is stopping`;
      await c.clock.sleep(100);
    }
  }
  return undefined;
}

/** Makes an earlier release current again, along the same zero-downtime path as a deploy. */
export async function rollback(
  c: Controller,
  service: string,
  req: RollbackRequest = {},
): Promise<Rollout & { policyWarnings?: PolicyViolation[] }> {
  // During a rollout, rolling back means undoing it: traffic straight back to the stable release
  // (for blue-green within the scale-down delay: a switch to the still-warm old instances).
  if (req.to === undefined && (await c.store.activeRollout(c.environment, service))) {
    return abort(c, service, req.by ?? currentUser(), req.message ?? 'rollback requested');
  }
  await refuseIfRolling(c, service);
  const current = await c.store.getCurrentRelease(c.environment, service);
  if (current === null)
    throw SlipwayError.of('NOTHING_TO_ROLL_BACK', `${service} has never been deployed`, {
      hint: `Deploy it first: slipway deploy ${service}`,
    });
  const releases = await c.store.listReleases(c.environment, service);
  let target: Release | undefined;
  if (req.to !== undefined) {
    target = releases.find((r) => r.number === req.to);
    if (!target)
      throw SlipwayError.of('RELEASE_NOT_FOUND', `${service} has no release ${req.to}`, {
        hint: `See the releases with: slipway history ${service}`,
      });
    if (target.number === current) throw SlipwayError.of('ALREADY_CURRENT', `release ${req.to} of ${service} is already current`);
  } else {
    target = releases.find((r) => r.number < current && r.outcome === 'superseded' && r.prunedAt === null);
    if (!target)
      throw SlipwayError.of('NOTHING_TO_ROLL_BACK', `${service} has no earlier release that served`, {
        hint: `Pick one with --to; see: slipway history ${service}`,
      });
  }
  // An image release has no artifact here: its image is in a registry or this machine's podman store.
  if (target.prunedAt !== null || (!target.image && !c.artifacts.has(target.digest))) {
    throw SlipwayError.of('RELEASE_PRUNED', `release ${target.number} of ${service} was pruned and cannot be restored`, {
      hint: 'Deploy it again from source instead.',
    });
  }
  const policyWarnings = await enforcePolicies(c, {
    action: 'rollback',
    service,
    release: target,
    current,
    message: req.message,
    by: req.by,
  });
  const rollout = await beginRollout(c, service, 'rollback', current, target.number, req.message ?? `rollback to release ${target.number}`);
  return policyWarnings.length ? { ...rollout, policyWarnings } : rollout;
}

function serviceConfig(c: Controller, config: SlipwayConfig, service: string): ServiceConfig {
  const spec = config.services[service];
  if (!spec) {
    const names = Object.keys(config.services);
    throw SlipwayError.of('SERVICE_NOT_FOUND', `no service named "${service}" in ${c.configPath}`, {
      hint: `Services: ${names.join(', ')}`,
    });
  }
  return spec;
}

export async function refuseIfRolling(c: Controller, service: string): Promise<void> {
  const active = await c.store.activeRollout(c.environment, service);
  if (active) {
    throw SlipwayError.of(
      'ROLLOUT_IN_PROGRESS',
      `rollout #${active.id} of ${service} (to release ${active.toRelease}) is ${active.phase.toLowerCase()}`,
      {
        hint: `Wait for it to finish (slipway status ${service}) and try again.`,
        details: { rolloutId: active.id, toRelease: active.toRelease, phase: active.phase },
      },
    );
  }
}

/** `extra`: what a restart or scale rollout carries (instances to replace, the count). */
export async function beginRollout(
  c: Controller,
  service: string,
  kind: RolloutKind,
  from: number | null,
  to: number,
  message?: string,
  extra: RolloutProgress = {},
): Promise<Rollout> {
  const spec = (await c.release(service, to)).spec;
  // A deploy to an environment that requires approval waits for it before anything starts.
  const approval = kind === 'deploy' ? approvalFor(c, c.environment, service) : undefined;
  const progress: RolloutProgress = kind === 'deploy' ? { checks: checksFor(c, spec), ...(approval ? { approval } : {}) } : { ...extra };
  const rollout = await c.store.createRollout({
    environment: c.environment,
    service,
    kind,
    fromRelease: from,
    toRelease: to,
    targetRelease: to,
    phase: approval ? 'AwaitingApproval' : 'Progressing',
    reason: approval ? 'AwaitingApproval' : 'Started',
    message: message ?? '',
    progress: progress as Record<string, unknown>,
    startedAt: c.clock.now(),
  });
  await c.event(
    service,
    rollout.id,
    'rollout.started',
    `${kind} of ${service} to release ${to}${from !== null ? ` (from ${from})` : ''}${message ? `: ${message}` : ''}`,
    { kind, from, to },
  );
  if (approval)
    await c.event(
      service,
      rollout.id,
      'rollout.awaiting-approval',
      `rollout #${rollout.id} of ${service} (release ${to}) waits for approval: ${approval.command}`,
      { command: approval.command },
    );
  c.log.info(`rollout #${rollout.id}: ${kind} ${service} ${from ?? '-'} → ${to}${approval ? ' (awaiting approval)' : ''}`);
  c.wake();
  return rollout;
}

/** The definitions of the analysis checks a strategy names, from the config on disk. */
function checksFor(c: Controller, spec: ServiceConfig): Record<string, CheckDefinition> {
  const s = spec.strategy;
  const names =
    s.type === 'canary'
      ? [...s.analysis, ...s.steps.flatMap((st) => ('analysis' in st ? st.analysis : []))]
      : s.type === 'blueGreen'
        ? [...s.prePromotionAnalysis, ...s.postPromotionAnalysis]
        : [];
  const defined = c.currentConfig?.analysis ?? {};
  return Object.fromEntries(names.filter((n) => defined[n]).map((n) => [n, defined[n]!]));
}
