/**
 * Checks that need more than one key at a time, or the filesystem: things the schema cannot say.
 * They run on the document as plain data, even when the schema found other problems, so that one
 * run reports everything; values the schema rejects are skipped here (the schema reports them).
 */
import { isAbsolute, resolve } from 'node:path';
import { formatPath, type ConfigProblem } from './problem.js';
import { locatePath, type YamlSource } from './yaml-source.js';
import { closest, closestTo } from './suggest.js';
import { serviceSchema } from './schema.js';

const SERVICE_KEYS = Object.keys(serviceSchema.shape);
import { rollingBudget } from './rolling-budget.js';
import { environmentProblems } from './environment-checks.js';

/** What is at a path on disk; injected so that parsing text needs no filesystem. */
export type PathKind = 'directory' | 'file' | 'missing';

export interface SemanticCheckOptions {
  /** Directory that relative `source` paths are resolved against (the directory of slipway.yaml). */
  dir: string;
  /** Looks a resolved `source` up on disk; when omitted, sources are not checked. */
  pathKind?: (absolutePath: string) => PathKind;
}

/** Every cross-key problem in the document `data`: errors, and warnings about legal but surprising settings. */
export function semanticProblems(
  data: unknown,
  src: YamlSource,
  options: SemanticCheckOptions,
): { errors: ConfigProblem[]; warnings: ConfigProblem[] } {
  const services = asMapping(asMapping(data)?.services);
  if (!services) return { errors: [], warnings: [] };
  const analysis = asMapping(asMapping(data)?.analysis) ?? {};
  const checks = Object.keys(analysis);
  return {
    errors: [
      ...environmentProblems(data, src),
      ...missingSources(services, src, options),
      ...unknownChecks(strategies(data), checks, src),
      ...secretNameClashes(services, src),
      ...cacheWithoutBuild(services, src),
      ...sourceOrImage(services, src),
    ],
    warnings: [...zeroSurgeAndUnavailable(services, src), ...stepsWithoutTraffic(services, analysis, src)],
  };
}

/**
 * A service runs a source (a process artifact built here) or an image, never both; a source needs
 * the command that starts it, and build/cache belong to a source (an image is built from its
 * Containerfile).
 */
function sourceOrImage(services: Record<string, unknown>, src: YamlSource): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (path: (string | number)[], message: string, suggestion: string) =>
    problems.push({ ...locatePath(src, path), path: formatPath(path), message, suggestion });
  for (const [name, raw] of Object.entries(services)) {
    const service = asMapping(raw);
    if (!service) continue;
    const hasSource = service.source !== undefined;
    const hasImage = service.image !== undefined;
    // Said as the schema says a missing key, typo suggestion included (a misspelt key is unknown to it).
    const unknown = Object.keys(service).filter((k) => !SERVICE_KEYS.includes(k));
    const missing = (key: string, otherwise: string) => {
      const typo = closestTo(key, unknown);
      add(['services', name, key], `missing required key "${key}"`, typo ? `is "${typo}" a typo for "${key}"?` : otherwise);
    };
    if (hasSource && hasImage)
      add(
        ['services', name, 'image'],
        'a service has either source: or image:, not both',
        'remove source: to run the image, or image: to run the source as a process',
      );
    else if (!hasSource && !hasImage) missing('source', 'or image: to run an OCI image (docs/containers.md)');
    if (hasSource && service.start === undefined) missing('start', 'the shell command that starts one instance');
    if (hasImage && !hasSource)
      for (const key of ['build', 'cache'] as const)
        if (service[key] !== undefined)
          add(
            ['services', name, key],
            `${key}: belongs to a source; an image is built from its Containerfile`,
            `remove ${key}:, or put the build steps in the Containerfile`,
          );
  }
  return problems;
}

/** A build cache saves what the build command makes; without one there is nothing to save. */
function cacheWithoutBuild(services: Record<string, unknown>, src: YamlSource): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [name, raw] of Object.entries(services)) {
    const service = asMapping(raw);
    if (!service || service.cache === undefined || (typeof service.build === 'string' && service.build.trim() !== '')) continue;
    const path = ['services', name, 'cache'];
    problems.push({
      ...locatePath(src, path),
      path: formatPath(path),
      message: 'a build cache needs a build command: without one nothing is built to cache',
      suggestion: 'add build: (e.g. "npm ci") or remove cache:',
    });
  }
  return problems;
}

/** Strategies name analysis checks; each name must be defined in the top-level `analysis:` section. */
/** Every strategy written, with its path: a service's, an environment's, and a service's in an environment. */
export function strategies(data: unknown): { strategy: unknown; base: (string | number)[] }[] {
  const out: { strategy: unknown; base: (string | number)[] }[] = [];
  for (const [name, raw] of Object.entries(asMapping(asMapping(data)?.services) ?? {}))
    out.push({ strategy: asMapping(raw)?.strategy, base: ['services', name, 'strategy'] });
  for (const [env, raw] of Object.entries(asMapping(asMapping(data)?.environments) ?? {})) {
    out.push({ strategy: asMapping(raw)?.strategy, base: ['environments', env, 'strategy'] });
    for (const [name, o] of Object.entries(asMapping(asMapping(raw)?.services) ?? {}))
      out.push({ strategy: asMapping(o)?.strategy, base: ['environments', env, 'services', name, 'strategy'] });
  }
  return out;
}

function unknownChecks(strategies: { strategy: unknown; base: (string | number)[] }[], checks: string[], src: YamlSource): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const visit = (names: unknown, path: (string | number)[]) => {
    if (!Array.isArray(names)) return;
    names.forEach((name, i) => {
      if (typeof name !== 'string' || checks.includes(name)) return;
      const near = closest(name, checks);
      problems.push({
        ...locatePath(src, [...path, i]),
        path: formatPath([...path, i]),
        message: `no analysis check named "${name}"${near ? ` (did you mean "${near}"?)` : ''}`,
        suggestion: checks.length
          ? `define it under analysis:, or use one of: ${checks.join(', ')}`
          : 'define it in a top-level analysis: section',
      });
    });
  };
  for (const { strategy: raw, base } of strategies) {
    const strategy = asMapping(raw);
    const bg = asMapping(strategy?.blueGreen);
    if (bg) {
      visit(bg.prePromotionAnalysis, [...base, 'blueGreen', 'prePromotionAnalysis']);
      visit(bg.postPromotionAnalysis, [...base, 'blueGreen', 'postPromotionAnalysis']);
    }
    const canary = asMapping(strategy?.canary);
    if (canary) {
      visit(canary.analysis, [...base, 'canary', 'analysis']);
      if (Array.isArray(canary.steps))
        canary.steps.forEach((step, i) => visit(asMapping(step)?.analysis, [...base, 'canary', 'steps', i, 'analysis']));
    }
  }
  return problems;
}

/** Names Slipway sets for every instance: a secret so named would be overwritten. */
const RESERVED_SECRET_NAMES = ['PORT', 'SLIPWAY_RELEASE', 'SLIPWAY_INSTANCE', 'SLIPWAY_SERVICE'];

/** A secret must not share its name with an `env:` key (one would silently win), a variable Slipway sets, or itself. */
function secretNameClashes(services: Record<string, unknown>, src: YamlSource): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [name, raw] of Object.entries(services)) {
    const service = asMapping(raw);
    const secrets = service?.secrets;
    if (!Array.isArray(secrets)) continue;
    const env = asMapping(service?.env) ?? {};
    const seen = new Set<unknown>();
    secrets.forEach((secret, i) => {
      if (typeof secret !== 'string') return;
      const path = ['services', name, 'secrets', i];
      const problem = (message: string, suggestion: string) =>
        problems.push({ ...locatePath(src, path), path: formatPath(path), message, suggestion });
      if (seen.has(secret)) problem(`secret "${secret}" is listed twice`, 'list each secret once');
      else if (Object.hasOwn(env, secret))
        problem(
          `"${secret}" is both in env and in secrets`,
          `keep it in one place: secrets for a value that must stay secret, env otherwise`,
        );
      else if (RESERVED_SECRET_NAMES.includes(secret))
        problem(`"${secret}" is set by Slipway for every instance and cannot be a secret`, 'give the secret another name');
      seen.add(secret);
    });
  }
  return problems;
}

/**
 * A step that can only wait for a person: an analysis step judging router traffic at a point
 * where the new release gets none (a canary step before any weight, with no header `match`; or
 * blue-green pre-promotion analysis without a previewPort). Every measurement is then
 * inconclusive, so with `inconclusive: wait` (the default) the step ends only by `slipway
 * promote` or `abort`; with fail it always rolls back, with pass it passes on no data. An explicit
 * `pause: {}` or `autoPromote: false` is a wait for a person by design and is not warned about.
 */
function stepsWithoutTraffic(services: Record<string, unknown>, analysis: Record<string, unknown>, src: YamlSource): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const warn = (names: unknown, path: (string | number)[], why: string, fix: string) => {
    if (!Array.isArray(names)) return;
    names.forEach((name, i) => {
      const check = typeof name === 'string' && Object.hasOwn(analysis, name) ? asMapping(analysis[name]) : undefined;
      if (typeof check?.metric !== 'string') return;
      const action = check.inconclusive ?? 'wait';
      const outcome =
        action === 'fail'
          ? 'so the rollout always rolls back'
          : action === 'pass'
            ? 'so it passes without having judged anything'
            : 'so the step can only wait for a person (`slipway promote` or `abort`)';
      problems.push({
        ...locatePath(src, [...path, i]),
        path: formatPath([...path, i]),
        message: `check "${name}" measures router traffic, but ${why}: every measurement will be inconclusive, ${outcome}`,
        suggestion: fix,
      });
    });
  };
  for (const [name, raw] of Object.entries(services)) {
    const strategy = asMapping(asMapping(raw)?.strategy);
    const base = ['services', name, 'strategy'];
    const canary = asMapping(strategy?.canary);
    if (canary && Array.isArray(canary.steps) && !asMapping(canary.match)) {
      let weight = 0;
      canary.steps.forEach((raw, i) => {
        const step = asMapping(raw);
        if (typeof step?.weight === 'number') weight = step.weight;
        else if (weight === 0)
          warn(
            step?.analysis,
            [...base, 'canary', 'steps', i, 'analysis'],
            'the canary gets no traffic at this step (weight 0)',
            'put a `- weight: N` step before it, or use an http or command check',
          );
      });
    }
    const bg = asMapping(strategy?.blueGreen);
    if (bg && bg.previewPort === undefined) {
      warn(
        bg.prePromotionAnalysis,
        [...base, 'blueGreen', 'prePromotionAnalysis'],
        'before promotion the new release gets no traffic (no previewPort)',
        'set previewPort and send test traffic there, or use an http or command check',
      );
    }
  }
  return problems;
}

/** Resolves a service's `source` against the config directory. */
export function resolveSource(source: string, dir: string): string {
  return isAbsolute(source) ? source : resolve(dir, source);
}

/**
 * A rolling update that may neither add nor remove an instance could never make progress, so the
 * rollout engine then surges by one anyway (rollingBudget); say so rather than let the file claim
 * otherwise. Percentages count: "10%" of 3 instances is 0.
 */
function zeroSurgeAndUnavailable(services: Record<string, unknown>, src: YamlSource): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const countOrPercent = (v: unknown, fallback: number): number | string | undefined =>
    v === undefined ? fallback : typeof v === 'number' || (typeof v === 'string' && /^\d+(\.\d+)?%$/.test(v)) ? v : undefined;
  for (const [name, raw] of Object.entries(services)) {
    const rolling = asMapping(asMapping(asMapping(raw)?.strategy)?.rolling);
    const instances = asMapping(raw)?.instances ?? 1;
    const surge = countOrPercent(rolling?.maxSurge, 1);
    const unavailable = countOrPercent(rolling?.maxUnavailable, 0);
    if (!rolling || typeof instances !== 'number' || surge === undefined || unavailable === undefined) continue;
    if (!rollingBudget(surge, unavailable, instances).surgeRaised) continue;
    const path = ['services', name, 'strategy', 'rolling'];
    problems.push({
      ...locatePath(src, path),
      path: formatPath(path),
      message: `maxSurge ${surge} and maxUnavailable ${unavailable} both come to 0 instances of ${instances}, which could never replace an instance: rollouts will use maxSurge 1`,
      suggestion: 'set maxSurge: 1 to say so',
    });
  }
  return problems;
}

function missingSources(services: Record<string, unknown>, src: YamlSource, options: SemanticCheckOptions): ConfigProblem[] {
  if (!options.pathKind) return [];
  const problems: ConfigProblem[] = [];
  for (const [name, raw] of Object.entries(services)) {
    const image = asMapping(asMapping(raw)?.image);
    const [source, key] = typeof image?.build === 'string' ? [image.build, ['image', 'build']] : [asMapping(raw)?.source, ['source']];
    if (typeof source !== 'string' || source === '') continue;
    const absolute = resolveSource(source, options.dir);
    const kind = options.pathKind(absolute);
    if (kind === 'directory') continue;
    const path = ['services', name, ...key];
    const what = key.length === 1 ? 'source' : 'image build context';
    problems.push({
      ...locatePath(src, path),
      path: formatPath(path),
      message: kind === 'missing' ? `${what} directory not found: ${absolute}` : `${what} must be a directory, but ${absolute} is a file`,
      suggestion: `${key.join('.')} is resolved relative to the directory of slipway.yaml`,
    });
  }
  return problems;
}

function asMapping(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
