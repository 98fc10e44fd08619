/**
 * `slipway plan`: per service, what a deploy would change, without recording a release, storing an
 * artifact or starting anything. The artifact digest is the one deploy would get: known from the
 * fingerprint of a tree built before (drift.ts), else built now as deploy builds it, in a
 * temporary directory, and thrown away (only the fingerprint → digest fact is kept, as every build
 * keeps it). The config is compared key by key with the serving release's; secrets are masked.
 */
import { buildArtifact } from '../artifact/build.js';
import { SlipwayError } from '../core/errors.js';
import type { ServiceConfig, SlipwayConfig, StrategyConfig } from '../config/schema.js';
import { configDiff } from '../environments/config-diff.js';
import type { PlanGate, PlanRequest, PlanResponse, ServicePlan } from '../api/types.js';
import type { Controller } from './controller.js';
import { configHashOf, knownDigest, recordBuild, rolledBackMatch, sourceFingerprint } from './drift.js';
import { planGates } from './gates.js';

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
  const order = deployOrder(config, names);
  const services: ServicePlan[] = [];
  // One at a time, in deploy order: builds are heavy, and the machine is shared.
  for (const name of order) services.push(await servicePlan(c, environment, name, config.services[name]!, gates));
  return {
    app: config.app,
    environment,
    at: new Date(c.calendar.now()).toISOString(),
    order,
    services,
    changes: services.filter((s) => s.action !== 'none').length,
  };
}

/**
 * The order a deploy of `names` goes in. Today: as slipway.yaml lists them. This is the hook for
 * `dependsOn` (issue 7): a topological order, dependencies first, replaces it here.
 */
export function deployOrder(config: SlipwayConfig, names: string[]): string[] {
  return Object.keys(config.services).filter((n) => names.includes(n));
}

async function servicePlan(
  c: Controller,
  environment: string,
  service: string,
  spec: ServiceConfig,
  gates: PlanGate[],
): Promise<ServicePlan> {
  const current = await c.store.getCurrentRelease(environment, service);
  const serving = current !== null ? await c.release(service, current).catch(() => undefined) : undefined;
  const { digest, how } = await digestOf(c, service, spec);
  const configHash = configHashOf(spec);
  const secrets = [...secretNames(spec), ...secretNames(serving?.spec)];
  const config = configDiff(serving?.spec ?? null, spec, secrets);
  const artifactChanged = serving?.digest !== digest;
  const changed = !serving || artifactChanged || serving.configHash !== configHash;
  const notes: string[] = [];
  const active = await c.store.activeRollout(environment, service);
  if (active)
    notes.push(
      `rollout #${active.id} to release ${active.toRelease} is ${active.phase}: a deploy now is refused until it ends (slipway status ${service})`,
    );
  const back = rolledBackMatch(await c.store.listReleases(environment, service, 1), current, digest, configHash);
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
    config,
    instances: { from: servingCount, to: spec.instances },
    strategy: { from: serving?.spec.strategy.type ?? null, to: spec.strategy.type, summary: strategySummary(spec.strategy) },
    dependsOn: dependsOnOf(spec),
    gates,
    notes,
  };
}

/** The digest deploy would build: known from a recorded fingerprint, else built now and kept nowhere. */
async function digestOf(c: Controller, service: string, spec: ServiceConfig): Promise<{ digest: string; how: 'known' | 'built' }> {
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
      return 'recreate (stop all, then start all)';
    case 'blueGreen':
      return `blueGreen (${s.autoPromote === false ? 'promoted by slipway promote' : 'promoted automatically'})`;
    case 'canary':
      return `canary (${s.steps.length} step(s): ${s.steps.map((st) => ('weight' in st ? `${st.weight}%` : 'pause' in st ? 'pause' : 'analysis')).join(', ')})`;
  }
}

/** `secrets:` of a service, once the secrets part of issue 7 adds it (names only; values never reach a spec). */
function secretNames(spec: ServiceConfig | undefined): string[] {
  const s = (spec as { secrets?: unknown } | undefined)?.secrets;
  return Array.isArray(s) ? s.filter((x): x is string => typeof x === 'string') : [];
}

/** `dependsOn:` of a service, once the environments part of issue 7 adds it. */
function dependsOnOf(spec: ServiceConfig): string[] {
  const d = (spec as { dependsOn?: unknown }).dependsOn;
  return Array.isArray(d) ? d.filter((x): x is string => typeof x === 'string') : [];
}
