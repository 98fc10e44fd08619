/**
 * Layering of environments: what a service's configuration is in one environment, and where each
 * value came from. One precedence, lowest first:
 *
 *   default (Slipway's) < service (`services.S`) < environment (`environments.E`) < service in
 *   environment (`environments.E.services.S`)
 *
 * A key set at a higher layer replaces the lower one whole, except `env`, which merges by variable.
 * Pure: works on a parsed config (see `load.ts`, which records which keys the file wrote).
 */
import { SlipwayError } from '../core/errors.js';
import { closest } from './suggest.js';
import { ENVIRONMENT_SERVICE_KEYS, SERVICE_OVERRIDE_KEYS, type ServiceConfig, type SlipwayConfig } from './schema.js';

/** Where a value of a service's effective configuration came from. */
export type ValueSource = 'default' | 'service' | 'environment' | 'service in environment';

/** A service's configuration in one environment, and the layer each key (and each env variable) came from. */
export interface EffectiveService {
  environment: string;
  service: string;
  spec: ServiceConfig;
  /** By top-level key (`port`, `health`, …) and by `env.NAME` for each variable. */
  sources: Record<string, ValueSource>;
}

/** The environment a single-environment project has always had; its data plane names stay unqualified (ADR 0018). */
export const LEGACY_ENVIRONMENT = 'local';

/** Keys the file wrote for each parsed service (the rest are Slipway's defaults); filled by `load.ts`. */
const written = new WeakMap<object, ReadonlySet<string>>();

/** Records which keys of a parsed service object were written in the file (load.ts calls it). */
export function rememberWrittenKeys(service: object, keys: Iterable<string>): void {
  written.set(service, new Set(keys));
}

export function environmentNames(config: SlipwayConfig): string[] {
  return Object.keys(config.environments);
}

/**
 * The environment a command acts on: the one asked for, else `default:`, else the only one.
 * `extra` names environments known elsewhere (with releases in the store but no longer in the file).
 * @throws SlipwayError ENVIRONMENT_NOT_FOUND (with "did you mean"), ENVIRONMENT_REQUIRED
 */
export function resolveEnvironmentName(config: SlipwayConfig | undefined, requested: string | undefined, extra: string[] = []): string {
  const names = [...new Set([...(config ? environmentNames(config) : []), ...extra])];
  if (requested !== undefined && requested !== '') {
    if (names.includes(requested)) return requested;
    const near = closest(requested, names);
    throw SlipwayError.of('ENVIRONMENT_NOT_FOUND', `no environment named "${requested}"${near ? ` (did you mean "${near}"?)` : ''}`, {
      hint: names.length ? `Environments: ${names.join(', ')}.` : 'Define environments in slipway.yaml under environments:.',
      details: { environment: requested, environments: names },
    });
  }
  if (config?.default) return config.default;
  const configured = config ? environmentNames(config) : names;
  if (configured.length === 1) return configured[0]!;
  if (configured.length === 0 && names.length === 0) return LEGACY_ENVIRONMENT;
  throw SlipwayError.of('ENVIRONMENT_REQUIRED', `slipway.yaml has several environments (${configured.join(', ')}) and no default`, {
    hint: `Name one with --env (e.g. --env ${configured[0]}), or set default: ${configured[0]} at the top of slipway.yaml.`,
    details: { environments: configured },
  });
}

/** Layers a service's configuration for one environment. The result has no `dependsOn` (ordering, not runtime). */
export function effectiveService(config: SlipwayConfig, environment: string, service: string): EffectiveService {
  const base = config.services[service];
  if (!base) {
    throw SlipwayError.of('SERVICE_NOT_FOUND', `no service named "${service}"`, {
      hint: `Services: ${Object.keys(config.services).join(', ')}`,
    });
  }
  const env = config.environments[environment];
  const wrote = written.get(base);
  const sources: Record<string, ValueSource> = {};
  const spec: Record<string, unknown> = { ...base };
  delete spec.dependsOn;
  for (const key of Object.keys(spec)) sources[key] = !wrote || wrote.has(key) ? 'service' : 'default';
  for (const name of Object.keys(base.env)) sources[`env.${name}`] = 'service';

  const layer = (values: Record<string, unknown> | undefined, keys: readonly string[], source: ValueSource) => {
    if (!values) return;
    for (const key of keys) {
      if (values[key] === undefined) continue;
      if (key === 'env') {
        const vars = values.env as Record<string, string>;
        spec.env = { ...(spec.env as Record<string, string>), ...vars };
        for (const name of Object.keys(vars)) sources[`env.${name}`] = source;
        if (Object.keys(vars).length) sources.env = source;
      } else {
        spec[key] = values[key];
        sources[key] = source;
      }
    }
  };
  layer(env as Record<string, unknown> | undefined, ENVIRONMENT_SERVICE_KEYS, 'environment');
  layer(env?.services[service] as Record<string, unknown> | undefined, SERVICE_OVERRIDE_KEYS, 'service in environment');
  return { environment, service, spec: spec as ServiceConfig, sources };
}

/** The config as one environment sees it: every service layered for it. */
export function configForEnvironment(config: SlipwayConfig, environment: string): SlipwayConfig {
  const services = Object.fromEntries(Object.keys(config.services).map((s) => [s, effectiveService(config, environment, s).spec]));
  return { ...config, services };
}

/**
 * Services in deploy order: every service after the services it depends on (ties in file order).
 * The config checks reject unknown names and cycles, so every service appears exactly once.
 */
export function deployOrder(config: SlipwayConfig, services: string[] = Object.keys(config.services)): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string, path: string[]) => {
    if (seen.has(name) || path.includes(name)) return;
    for (const dep of config.services[name]?.dependsOn ?? []) visit(dep, [...path, name]);
    seen.add(name);
    order.push(name);
  };
  for (const s of services) visit(s, []);
  return order.filter((s) => services.includes(s));
}
