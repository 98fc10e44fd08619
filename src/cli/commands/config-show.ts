import { formatDuration } from '../../core/duration.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { EffectiveService, ValueSource } from '../../config/environments.js';
import { table } from '../output.js';
import type { CliCommand } from '../context.js';

/** One line of `config show`: a key (or env.NAME), its effective value and the layer it came from. */
export interface ConfigValue {
  key: string;
  value: unknown;
  source: ValueSource;
}

const DURATIONS = new Set(['stopTimeout', 'progressDeadline']);
const MASK = '********';

/**
 * The effective configuration as rows, secrets masked: a variable named in `secrets` never shows
 * its value (secrets are injected at start, never written in slipway.yaml; only their names are).
 */
export function configValues(e: EffectiveService): ConfigValue[] {
  const spec = e.spec as unknown as Record<string, unknown>;
  const secretNames = new Set(Array.isArray(spec.secrets) ? (spec.secrets as string[]) : []);
  const rows: ConfigValue[] = [];
  for (const [key, value] of Object.entries(spec)) {
    if (key === 'env') {
      for (const [name, v] of Object.entries(value as Record<string, string>))
        rows.push({ key: `env.${name}`, value: secretNames.has(name) ? MASK : v, source: e.sources[`env.${name}`] ?? 'service' });
      continue;
    }
    rows.push({ key, value, source: e.sources[key] ?? 'service' });
  }
  return rows;
}

function show(key: string, value: unknown): string {
  if (DURATIONS.has(key) && typeof value === 'number') return formatDuration(value);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export const configShow: CliCommand = {
  name: 'config show',
  summary: "A service's effective configuration in an environment, and where each value came from (no controller needed)",
  declare(cmd) {
    cmd.argument('<service>', 'the service');
  },
  examples: [
    'slipway config show web --env production         # value and layer of every key',
    'slipway config show web --env staging --json     # the same for machines',
  ],
  async run({ dir, env, out, json }, [service]) {
    // Loaded here: the config schema is not needed to parse the command line or report a mistake.
    const { findConfigFile, loadConfig } = await import('../../config/load.js');
    const { effectiveService, resolveEnvironmentName } = await import('../../config/environments.js');
    const { config, file } = loadConfig(findConfigFile(dir));
    const environment = resolveEnvironmentName(config, env);
    const effective = effectiveService(config, environment, service!);
    const values = configValues(effective);
    if (json) {
      out.out(JSON.stringify({ service, environment, file, values }, null, 2));
      return 0;
    }
    out.out(out.paint('bold', `${terminalLine(service!)} in ${terminalLine(environment)} (${terminalLine(file)})`));
    out.out(table([['KEY', 'VALUE', 'FROM'], ...values.map((v) => [terminalLine(v.key), terminalLine(show(v.key, v.value)), v.source])]));
    out.out('precedence: default < service < environment < service in environment');
    return 0;
  },
};
