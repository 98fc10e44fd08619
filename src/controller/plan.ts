/**
 * `slipway plan`: per service, what a deploy would change, without recording a release, storing an
 * artifact or starting anything. The artifact digest is the one deploy would get: known from the
 * fingerprint of a tree built before (drift.ts), else built now as deploy builds it, in a
 * temporary directory, and thrown away (only the fingerprint → digest fact is kept, as every build
 * keeps it). The config is compared key by key with the serving release's; secrets are masked.
 * Secrets count by their keyed hash, as a deploy compares them; policies are evaluated as a deploy
 * would evaluate them now, and shown with the gates.
 */
import { buildArtifact } from '../artifact/build.js';
import { SlipwayError } from '../core/errors.js';
import type { ServiceConfig, SlipwayConfig, StrategyConfig } from '../config/schema.js';
import { configDiff } from '../environments/config-diff.js';
import type { PlanGate, PlanRequest, PlanResponse, ServicePlan } from '../api/types.js';
import { imageRelease } from './image-releases.js';
import type { Controller } from './controller.js';
import { configHashOf, knownDigest, recordBuild, rolledBackMatch, sourceFingerprint } from './drift.js';
import { planGates } from './gates.js';
import { evaluateFor } from './policy-gate.js';
import { deployOrder } from '../config/environments.js';
import { releaseSecrets } from './deploys.js';

export async function plan(c: Controller, req: PlanRequest = {}): Promise<PlanResponse> {
  const environment = c.environment;
  const config = c.loadConfig();
  const names = req.services?.length ? req.services : Object.keys(config.services);
  const unknown = names.filter((n) => !config.services[n]);
  if (unknown.length)
    throw SlipwayError.of('SERVICE_NOT_FOUND', `no service named ${unknown.map((n) => `"${n}"`).join(', ')} in ${c.configPath}`, {
      hint: `Services: ${Object.keys(config.services).join(', ')}`,
    });
  const gates = planGates(c, environment);
  // dependsOn is read from the project's config: an environment's layered services carry none.
  const project = c.project.currentConfig ?? config;
  const order = deployOrder(project, names);
  const services: ServicePlan[] = [];
  // One at a time, in deploy order: builds are heavy, and the machine is shared.
  for (const name of order) services.push(await servicePlan(c, config, name, project.services[name]?.dependsOn ?? [], gates));
  return {
    app: config.app,
    environment,
    at: new Date(c.calendar.now()).toISOString(),
    order,
    services,
    changes: services.filter((s) => s.action !== 'none').length,
  };
}

async function servicePlan(
  c: Controller,
  config: SlipwayConfig,
  service: string,
  dependsOn: string[],
  environmentGates: PlanGate[],
): Promise<ServicePlan> {
  const environment = c.environment;
  const spec = config.services[service]!;
  const current = await c.store.getCurrentRelease(environment, service);
  const serving = current !== null ? await c.release(service, current).catch(() => undefined) : undefined;
  const { digest, how } = await digestOf(c, service, spec);
  const configHash = configHashOf(spec);
  const secrets = [...secretNames(spec), ...secretNames(serving?.spec)];
  const diff = configDiff(serving?.spec ?? null, spec, secrets);
  const artifactChanged = serving?.digest !== digest;
  const notes: string[] = [];
  // The keyed hash a deploy would record (ADR 0017): values are decrypted in memory only.
  const secretsHash = await releaseSecrets(c, config.app, service, spec).then(
    (s) => s?.hash ?? null,
    (err: Error) => void notes.push(`${err.message}: a deploy now is refused`),
  );
  const secretsChanged = serving !== undefined && secretsHash !== undefined && (serving.secrets?.hash ?? null) !== secretsHash;
  if (secretsChanged) notes.push(`a secret changed since release ${current}`);
  const changed = !serving || artifactChanged || serving.configHash !== configHash || secretsChanged;
  const policies = await evaluateFor(c, { action: 'deploy', service, release: { digest, configHash, spec }, current, config });
  const gates: PlanGate[] = [
    ...environmentGates,
    ...(policies
      ? [...policies.verdict.denied, ...policies.verdict.warned].map((v): PlanGate => ({
          kind: 'policy',
          policy: v.policy,
          mode: v.mode,
          message: v.message,
        }))
      : []),
  ];
  const active = await c.store.activeRollout(environment, service);
  if (active)
    notes.push(
      `rollout #${active.id} to release ${active.toRelease} is ${active.phase}: a deploy now is refused until it ends (slipway status ${service})`,
    );
  const back = rolledBackMatch(await c.store.listReleases(environment, service, 1), current, digest, configHash, secretsHash);
  if (back)
    notes.push(
      `release ${back.number} (the same build and config) was rolled back: \`slipway up\` leaves it alone; \`slipway deploy ${service}\` deploys it again`,
    );
  const scaled = current !== null ? await c.scaleOverride(service, current) : undefined;
  const servingCount = serving ? (scaled?.instances ?? serving.spec.instances) : null;
  if (scaled && serving && scaled.instances !== spec.instances)
    notes.push(`runs ${scaled.instances} instance(s) set by slipway scale; a deploy goes back to slipway.yaml's ${spec.instances}`);
  return {
    service,
    action: !serving ? 'create' : changed ? 'update' : 'none',
    currentRelease: current,
    artifact: { digest, serving: serving?.digest ?? null, changed: artifactChanged, how },
    config: diff,
    instances: { from: servingCount, to: spec.instances },
    strategy: { from: serving?.spec.strategy.type ?? null, to: spec.strategy.type, summary: strategySummary(spec.strategy) },
    dependsOn,
    gates,
    notes,
  };
}

/** The digest deploy would build: known from a recorded fingerprint, else built now and kept nowhere. */
async function digestOf(c: Controller, service: string, spec: ServiceConfig): Promise<{ digest: string; how: 'known' | 'built' }> {
  if (spec.source === undefined) return imageDigestOf(c, service, spec);
  const fingerprint = await sourceFingerprint(spec.source, spec.build).catch(() => undefined);
  const known = fingerprint !== undefined ? knownDigest(c, service, fingerprint) : undefined;
  if (known) return { digest: known, how: 'known' };
  const built = await buildArtifact({
    sourceDir: spec.source,
    buildCommand: spec.build,
    workRoot: c.paths.builds,
    // Only the digest is wanted: the packed file is left in the build's temporary directory, which goes.
    // The pack cache is read (unchanged files are not compressed again) but not rewritten.
    store: {
      put: async (_file, expected) => expected!,
      has: (d) => c.artifacts.has(d),
      indexed: (d) => c.artifacts.indexed(d),
      packCacheDir: c.artifacts.packCacheDir,
      buildCacheDir: c.artifacts.buildCacheDir,
    },
    rememberPack: false,
    onOutput: (line) => c.log.info(`plan: build ${service}: ${line}`),
  });
  if (fingerprint !== undefined) {
    try {
      recordBuild(c, service, fingerprint, built.digest);
    } catch (err) {
      c.log.warn(`plan ${service}: source fingerprint not recorded: ${(err as Error).message}`);
    }
  }
  return { digest: built.digest, how: 'built' };
}

function strategySummary(s: StrategyConfig): string {
  switch (s.type) {
    case 'rolling':
      return `rolling (maxSurge ${s.maxSurge}, maxUnavailable ${s.maxUnavailable})`;
    case 'recreate':
      return 'recreate (stop all, then start all: downtime by design)';
    case 'blueGreen':
      return `blueGreen (${s.autoPromote === false ? 'promoted by slipway promote' : 'promoted automatically'})`;
    case 'canary':
      return `canary (${s.steps.length} step(s): ${s.steps.map((st) => ('weight' in st ? `${st.weight}%` : 'pause' in st ? 'pause' : 'flag' in st ? 'flag' : 'analysis')).join(', ')})`;
  }
}

/** `secrets:` of a service, once the secrets part of issue 7 adds it (names only; values never reach a spec). */
function secretNames(spec: ServiceConfig | undefined): string[] {
  const s = (spec as { secrets?: unknown } | undefined)?.secrets;
  return Array.isArray(s) ? s.filter((x): x is string => typeof x === 'string') : [];
}

/** `dependsOn:` of a service, once the environments part of issue 7 adds it. */

/**
 * The digest a deploy of an image service would record: an existing reference resolved now; an
 * image built here (podman's cache makes an unchanged context quick) and, when the serving release
 * was built from the same image id, that release's (registry) digest. Nothing is pushed.
 */
async function imageDigestOf(c: Controller, service: string, spec: ServiceConfig): Promise<{ digest: string; how: 'known' | 'built' }> {
  const config = c.currentConfig ?? c.loadConfig();
  const built = await imageRelease(c, config, service, spec, { noPush: true });
  if (typeof spec.image === 'string') return { digest: built.digest, how: 'known' };
  const current = await c.store.getCurrentRelease(c.environment, service);
  const serving = current !== null ? await c.release(service, current).catch(() => undefined) : undefined;
  if (serving?.image?.id === built.image.id) return { digest: serving!.digest, how: 'built' };
  return { digest: built.digest, how: 'built' };
}
