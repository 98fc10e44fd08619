/**
 * The controller's flags: slipway.yaml's `flags:` with the run-time changes from the store,
 * compiled per environment (only the flags whose definition changed are compiled again), changed
 * through the API (validated, versioned with who, when, before, after and why), and pushed to
 * subscribers (the provider's server-sent events) as soon as they change.
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import type { FlagConfig, FlagsConfig } from '../config/flags-schema.js';
import { SlipwayError } from '../core/errors.js';
import type { FlagRamp, FlagVersion } from '../store/flag-types.js';
import type { Store } from '../store/store.js';
import { compileFlagSet, compileRule, type CompiledFlag } from './compile.js';
import { baselineState, definitionOf, differenceFromFile, type FlagPatch } from './definitions.js';
import type { FlagDefinition, FlagEnvironmentState, FlagRule } from './types.js';
import { describeValue, isOfType } from './values.js';

const ATTRIBUTE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** Every flag of one environment, compiled, with an ETag that changes whenever any definition does. */
export interface FlagSnapshot {
  environment: string;
  etag: string;
  definitions: FlagDefinition[];
  compiled: Map<string, CompiledFlag>;
}

/** One flag as `slipway flags list|get` shows it. */
export interface FlagView {
  key: string;
  type: FlagDefinition['type'];
  description?: string;
  default: FlagDefinition['default'];
  variants: FlagDefinition['variants'];
  environment: string;
  /** In force: the file with the run-time changes. */
  state: FlagEnvironmentState;
  /** As slipway.yaml says. */
  file: FlagEnvironmentState;
  /** Keys changed at run time whose values differ from the file's. */
  differs: (keyof FlagEnvironmentState)[];
  /** The newest run-time version (0: never changed at run time). */
  version: number;
  changedBy?: string;
  changedAt?: number;
  reason?: string;
  /** The ramp the flag follows, with its pending steps (set by the API, not by this service). */
  ramp?: FlagRamp;
}

/** A run-time change as the API takes it. */
export interface FlagChange {
  enabled?: boolean;
  /** A percentage (keeps the attribute) or { percent, by }. */
  rollout?: number | { percent: number; by?: string };
  rules?: FlagRule[];
  /** Drop every run-time change: back to the file. */
  reset?: boolean;
  by?: string;
  reason?: string;
}

export interface ChangeOptions {
  /** The change is this ramp's own step: it does not cancel the ramp. */
  ramp?: number;
}

interface EnvState {
  patches?: Map<string, FlagVersion>;
  /** Bumped by every change: with the config object, what the snapshot was built from. */
  generation: number;
  snapshot?: { config: FlagsConfig; generation: number; value: FlagSnapshot };
  listeners: Set<(s: FlagSnapshot) => void>;
  lastPushed?: string;
}

export class FlagService {
  private readonly envs = new Map<string, EnvState>();
  private watch: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    /** The project's flags as slipway.yaml says now (the caller re-reads the file when it changed). */
    private readonly flagsConfig: () => FlagsConfig,
    private readonly now: () => number = Date.now,
  ) {}

  /** The compiled flags of `environment`, rebuilt only when the file or a run-time change moved on. */
  async snapshot(environment: string): Promise<FlagSnapshot> {
    const env = await this.env(environment);
    const config = this.flagsConfig();
    if (env.snapshot && env.snapshot.config === config && env.snapshot.generation === env.generation) return env.snapshot.value;
    const definitions = Object.entries(config).map(([key, flag]) => {
      const v = env.patches!.get(key);
      return definitionOf(key, flag, environment, v && { version: v.version, state: v.patch });
    });
    const compiled = compileFlagSet(definitions, env.snapshot?.value.compiled);
    const etag = `"${createHash('sha256')
      .update(definitions.map((d) => `${d.key}@${d.version}`).join('\n'))
      .digest('hex')
      .slice(0, 24)}"`;
    const value = { environment, etag, definitions, compiled };
    env.snapshot = { config, generation: env.generation, value };
    return value;
  }

  async list(environment: string): Promise<FlagView[]> {
    const env = await this.env(environment);
    const config = this.flagsConfig();
    return Object.entries(config).map(([key, flag]) => this.view(environment, key, flag, env.patches!.get(key)));
  }

  /** @throws SlipwayError FLAG_NOT_FOUND */
  async get(environment: string, key: string): Promise<FlagView> {
    const flag = this.flagOf(key);
    return this.view(environment, key, flag, (await this.env(environment)).patches!.get(key));
  }

  async history(environment: string, key: string, limit = 50): Promise<FlagVersion[]> {
    this.flagOf(key);
    return this.store.listFlagVersions(environment, key, limit);
  }

  /**
   * Applies a run-time change as the flag's next version.
   * @throws SlipwayError FLAG_NOT_FOUND, FLAG_CHANGE_INVALID
   */
  async change(
    environment: string,
    key: string,
    change: FlagChange,
    opts: ChangeOptions = {},
  ): Promise<{ flag: FlagView; version: FlagVersion | null }> {
    const flag = this.flagOf(key);
    const env = await this.env(environment);
    const current = env.patches!.get(key);
    const patch = change.reset ? {} : { ...(current?.patch ?? {}), ...this.validate(key, flag, environment, change, current?.patch) };
    return this.record(
      environment,
      key,
      flag,
      env,
      {
        action: change.reset ? 'reset' : 'set',
        patch,
        by: change.by ?? 'unknown',
        reason: change.reason ?? '',
        revertOf: null,
      },
      opts,
    );
  }

  /**
   * Checks a change without making it (what a ramp's later steps will ask for).
   * @throws SlipwayError FLAG_NOT_FOUND, FLAG_CHANGE_INVALID
   */
  async check(environment: string, key: string, change: FlagChange): Promise<void> {
    const flag = this.flagOf(key);
    this.validate(key, flag, environment, change, (await this.env(environment)).patches!.get(key)?.patch);
  }

  /**
   * Restores the state a flag had just after `version` (0: as the file says), as a new version.
   * @throws SlipwayError FLAG_NOT_FOUND, FLAG_VERSION_NOT_FOUND
   */
  async revert(
    environment: string,
    key: string,
    version: number,
    by = 'unknown',
    reason = '',
  ): Promise<{ flag: FlagView; version: FlagVersion | null }> {
    const flag = this.flagOf(key);
    const env = await this.env(environment);
    let patch: FlagPatch = {};
    if (version !== 0) {
      const all = await this.store.listFlagVersions(environment, key, 100_000);
      const target = all.find((v) => v.version === version);
      if (!target)
        throw SlipwayError.of('FLAG_VERSION_NOT_FOUND', `flag "${key}" has no version ${version} in ${environment}`, {
          hint: all.length
            ? `Versions: 1 to ${all[0]!.version} (slipway flags history ${key}); 0 restores the file.`
            : `It was never changed at run time; 0 restores the file.`,
        });
      patch = target.patch;
    }
    return this.record(environment, key, flag, env, { action: 'revert', patch, by, reason, revertOf: version });
  }

  /** The flags of `environment` as a slipway.yaml `flags:` section, the run-time changes written in. */
  async exportYaml(environment: string): Promise<string> {
    const env = await this.env(environment);
    const out: Record<string, unknown> = {};
    for (const [key, flag] of Object.entries(this.flagsConfig())) {
      const v = env.patches!.get(key);
      const written = writtenFlag(flag);
      if (v && Object.keys(v.patch).length) {
        const envs = { ...((written.environments as Record<string, unknown>) ?? {}) };
        envs[environment] = { ...((envs[environment] as Record<string, unknown>) ?? {}), ...writtenState(v.patch) };
        written.environments = envs;
      }
      out[key] = written;
    }
    return stringify({ flags: out }, { lineWidth: 0 });
  }

  /** Calls `listener` with every new snapshot of `environment` (changes through the API, and edits of the file within a second). */
  subscribe(environment: string, listener: (s: FlagSnapshot) => void): () => void {
    const env = this.envs.get(environment) ?? this.blank(environment);
    env.listeners.add(listener);
    this.watch ??= setInterval(() => void this.pushAll(), 1000).unref();
    return () => {
      env.listeners.delete(listener);
      if ([...this.envs.values()].every((e) => e.listeners.size === 0) && this.watch) {
        clearInterval(this.watch);
        this.watch = undefined;
      }
    };
  }

  private async pushAll(): Promise<void> {
    for (const [name, env] of this.envs) if (env.listeners.size) await this.push(name, env).catch(() => undefined);
  }

  private async push(environment: string, env: EnvState): Promise<void> {
    const s = await this.snapshot(environment);
    if (s.etag === env.lastPushed) return;
    env.lastPushed = s.etag;
    for (const l of env.listeners) l(s);
  }

  private async record(
    environment: string,
    key: string,
    flag: FlagConfig,
    env: EnvState,
    v: Pick<FlagVersion, 'action' | 'patch' | 'by' | 'reason' | 'revertOf'>,
    opts: ChangeOptions = {},
  ): Promise<{ flag: FlagView; version: FlagVersion | null }> {
    const current = env.patches!.get(key);
    const base = baselineState(flag, environment);
    const before = { ...base, ...(current?.patch ?? {}) };
    const after = { ...base, ...v.patch };
    if (JSON.stringify(before) === JSON.stringify(after) && JSON.stringify(current?.patch ?? {}) === JSON.stringify(v.patch))
      return { flag: this.view(environment, key, flag, current), version: null };
    const version = await this.store.appendFlagVersion({ environment, flag: key, ...v, before, after, at: this.now() });
    env.patches!.set(key, version);
    env.generation++;
    await this.push(environment, env);
    await this.cancelRamps(environment, key, version, opts.ramp);
    return { flag: this.view(environment, key, flag, version), version };
  }

  /** Any change but a ramp's own step cancels the rest of the flag's ramp: the latest intent wins (docs/flags.md). */
  private async cancelRamps(environment: string, key: string, v: FlagVersion, exceptRamp: number | undefined): Promise<void> {
    for (const ramp of await this.store.listFlagRamps({ environment, flag: key, state: 'active' })) {
      if (ramp.id === exceptRamp) continue;
      await this.store.updateFlagRamp(ramp.id, {
        steps: ramp.steps,
        state: 'cancelled',
        endedAt: v.at,
        endReason: `cancelled by ${v.by}'s change (version ${v.version})`,
      });
    }
  }

  private validate(key: string, flag: FlagConfig, environment: string, change: FlagChange, current: FlagPatch | undefined): FlagPatch {
    const problems: string[] = [];
    const patch: FlagPatch = {};
    if (change.enabled !== undefined) {
      if (typeof change.enabled !== 'boolean') problems.push('enabled must be true or false');
      else patch.enabled = change.enabled;
    }
    if (change.rollout !== undefined) {
      const r = typeof change.rollout === 'number' ? { percent: change.rollout } : change.rollout;
      const by = r?.by ?? current?.rollout?.by ?? baselineState(flag, environment).rollout.by;
      if (typeof r?.percent !== 'number' || !(r.percent >= 0 && r.percent <= 100) || Math.round(r.percent * 100) !== r.percent * 100)
        problems.push(`rollout must be a percentage from 0 to 100 in steps of 0.01 (got ${describeValue(r?.percent)})`);
      else if (typeof by !== 'string' || !ATTRIBUTE.test(by))
        problems.push(`rollout by must be an attribute path such as "user.id" (got ${describeValue(by)})`);
      else if (r.percent > 0 && flag.type !== 'boolean' && !Object.keys(flag.variants ?? {}).length)
        problems.push(`a ${flag.type} flag without variants has nothing to roll out: add variants in slipway.yaml, or use rules`);
      else patch.rollout = { percent: r.percent, by };
    }
    if (change.rules !== undefined) {
      if (!Array.isArray(change.rules)) problems.push('rules must be a list of { if, serve }');
      else {
        change.rules.forEach((r, i) => {
          if (typeof r?.if !== 'string' || r.if === '') problems.push(`rules[${i}].if must be a CEL condition`);
          else compileRule(r.if, (p) => problems.push(`rules[${i}].if at offset ${p.offset}: ${p.message}`));
          if (!isOfType(flag.type, r?.serve))
            problems.push(`rules[${i}].serve must be a ${flag.type} value (got ${describeValue(r?.serve)})`);
        });
        if (!problems.length) patch.rules = change.rules.map((r) => ({ if: r.if, serve: r.serve }));
      }
    }
    if (!problems.length && !Object.keys(patch).length && !change.reset)
      problems.push('nothing to change: give enabled, rollout or rules (or reset)');
    if (problems.length)
      throw SlipwayError.of('FLAG_CHANGE_INVALID', `cannot change flag "${key}": ${problems.join('; ')}`, {
        hint: 'See docs/flags.md: slipway flags set KEY --on|--off|--rollout PERCENT [--by ATTR]|--rules JSON|--reset.',
        details: { flag: key, invalid: problems },
      });
    return patch;
  }

  private view(environment: string, key: string, flag: FlagConfig, v: FlagVersion | undefined): FlagView {
    const file = baselineState(flag, environment);
    const def = definitionOf(key, flag, environment, v && { version: v.version, state: v.patch });
    return {
      key,
      type: flag.type,
      ...(flag.description ? { description: flag.description } : {}),
      default: def.default,
      variants: def.variants,
      environment,
      state: { enabled: def.enabled, rules: def.rules, rollout: def.rollout },
      file,
      differs: differenceFromFile(flag, environment, v?.patch),
      version: v?.version ?? 0,
      ...(v ? { changedBy: v.by, changedAt: v.at, reason: v.reason } : {}),
    };
  }

  private flagOf(key: string): FlagConfig {
    const flags = this.flagsConfig();
    const flag = flags[key];
    if (!flag)
      throw SlipwayError.of('FLAG_NOT_FOUND', `no flag named "${key}"`, {
        hint: Object.keys(flags).length
          ? `Flags: ${Object.keys(flags).join(', ')}. New flags are declared in slipway.yaml under flags:.`
          : 'Declare flags in slipway.yaml under flags: (docs/flags.md).',
      });
    return flag;
  }

  private async env(environment: string): Promise<EnvState> {
    const env = this.envs.get(environment) ?? this.blank(environment);
    if (!env.patches) {
      const versions = await this.store.currentFlagVersions(environment);
      env.patches ??= new Map(versions.map((v) => [v.flag, v]));
    }
    return env;
  }

  private blank(environment: string): EnvState {
    const env: EnvState = { generation: 0, listeners: new Set() };
    this.envs.set(environment, env);
    return env;
  }
}

/** A flag as written in YAML: the schema's filled-in rollout form kept short. */
function writtenFlag(flag: FlagConfig): Record<string, unknown> {
  const out: Record<string, unknown> = writtenState(flag as FlagPatch & Record<string, unknown>);
  if (flag.environments)
    out.environments = Object.fromEntries(
      Object.entries(flag.environments).map(([env, block]) => [
        env,
        block ? writtenState(block as FlagPatch & Record<string, unknown>) : block,
      ]),
    );
  return out;
}

/** Keys left out when not set; a rollout by user.id (the default) as its bare percentage. */
function writtenState(patch: FlagPatch & Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...patch };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  if (patch.rollout) out.rollout = patch.rollout.by === 'user.id' ? patch.rollout.percent : patch.rollout;
  return out;
}
