/**
 * `slipway flags list|get|set|history|revert|export`: feature flags at run time (docs/flags.md).
 * Each talks to the controller (started when none runs: flags are served by it), in the
 * environment of `--env`.
 */
import type { CommandContext, CliCommand } from '../context.js';
import { table } from '../output.js';
import { ago } from '../render/format.js';
import { terminalLine } from '../../core/terminal-text.js';
import { currentUser } from '../../core/user.js';
import { SlipwayError } from '../../core/errors.js';
import type { FlagView } from '../../flags/service.js';
import type { FlagEnvironmentState, FlagRule } from '../../flags/types.js';
import type { FlagChangeResponse } from '../../client/flags-client.js';
import type { ControllerClient } from '../../client/client.js';
import { rampLines } from './flags-ramp.js';

export async function client(ctx: CommandContext) {
  const { ensureController } = await import('../start-controller.js');
  const { flagsApi } = await import('../../client/flags-client.js');
  const { client: c } = await ensureController(ctx.dir, ctx.out);
  return { c: c.inEnv(ctx.env), api: flagsApi };
}

/** "on, 10% by user.id, 1 rule" */
export function describeState(s: FlagEnvironmentState): string {
  if (!s.enabled) return 'off (kill switch)';
  const by = s.rollout.by === 'user.id' ? '' : ` by ${s.rollout.by}`;
  const rules = s.rules.length ? `, ${s.rules.length} rule${s.rules.length > 1 ? 's' : ''}` : '';
  return `on, ${s.rollout.percent}%${by}${rules}`;
}

function differs(out: CommandContext['out'], f: FlagView): string {
  if (!f.differs.length) return '-';
  return out.paint('yellow', `${f.differs.join(', ')} (file: ${describeState(f.file)})`);
}

/** The flags whose run-time state differs from slipway.yaml: what `status --json` and `plan --json` carry as `flags`. */
export interface FlagDrift {
  environment: string;
  /** Each flag changed at run time whose state differs from the file, with what the file says. */
  differ: Pick<FlagView, 'key' | 'state' | 'file' | 'differs' | 'version' | 'changedBy' | 'changedAt' | 'reason'>[];
}

/** The difference of the flags from slipway.yaml; undefined when the controller cannot say (an older one). */
export async function flagDrift(c: ControllerClient): Promise<FlagDrift | undefined> {
  const { flagsApi } = await import('../../client/flags-client.js');
  let res;
  try {
    res = await flagsApi.list(c);
  } catch {
    return undefined;
  }
  return {
    environment: res.environment,
    differ: res.flags
      .filter((f) => f.differs.length)
      .map(({ key, state, file, differs, version, changedBy, changedAt, reason }) => ({
        key,
        state,
        file,
        differs,
        version,
        changedBy,
        changedAt,
        reason,
      })),
  };
}

/**
 * Lines for `status` and `plan`: the flags whose run-time state differs from slipway.yaml, each with
 * what the file says. Empty when none differs, or when the controller cannot say (an older one).
 */
export function flagDifferenceLines(drift: FlagDrift | undefined, out: CommandContext['out']): string[] {
  if (!drift?.differ.length) return [];
  return [
    '',
    out.paint('yellow', `flags changed at run time in ${terminalLine(drift.environment)}, differing from slipway.yaml:`),
    ...drift.differ.map(
      (f) => `  ${terminalLine(f.key)}: ${describeState(f.state)} (file: ${describeState(f.file)}; changed: ${f.differs.join(', ')})`,
    ),
    '  keep them with slipway flags export, or go back to the file with slipway flags set FLAG --reset',
  ];
}

export const flagsList: CliCommand = {
  name: 'flags list',
  summary: 'Flags in force in the environment, and where they differ from slipway.yaml',
  declare() {},
  examples: ['slipway flags list', 'slipway flags list --env production --json'],
  async run(ctx) {
    const { c, api } = await client(ctx);
    const res = await api.list(c);
    if (ctx.json) {
      ctx.out.out(JSON.stringify(res, null, 2));
      return 0;
    }
    if (!res.flags.length) {
      ctx.out.out('no flags: declare them in slipway.yaml under flags: (docs/flags.md)');
      return 0;
    }
    ctx.out.out(
      table([
        ['FLAG', 'TYPE', 'STATE', 'VERSION', 'CHANGED', 'DIFFERS FROM FILE'],
        ...res.flags.map((f) => [
          terminalLine(f.key),
          f.type,
          describeState(f.state) + (f.ramp ? ', ramping' : ''),
          String(f.version),
          f.changedAt ? `${ago(f.changedAt)} by ${terminalLine(f.changedBy ?? '?')}` : '-',
          differs(ctx.out, f),
        ]),
      ]),
    );
    const changed = res.flags.filter((f) => f.differs.length);
    if (changed.length)
      ctx.out.err(`${changed.length} flag(s) differ from slipway.yaml in ${res.environment}: write them back with slipway flags export`);
    return 0;
  },
};

export const flagsGet: CliCommand = {
  name: 'flags get',
  summary: 'One flag: its state in force, its rules and variants, and the file it differs from',
  declare(cmd) {
    cmd.argument('<flag>', 'flag key');
  },
  examples: ['slipway flags get new-checkout', 'slipway flags get new-checkout --env production --json'],
  async run(ctx, [key]) {
    const { c, api } = await client(ctx);
    const f = await api.get(c, key!);
    if (ctx.json) {
      ctx.out.out(JSON.stringify(f, null, 2));
      return 0;
    }
    const o = ctx.out;
    o.out(`${terminalLine(f.key)} (${f.type}) in ${terminalLine(f.environment)}: ${describeState(f.state)}`);
    if (f.description) o.out(`  ${terminalLine(f.description)}`);
    o.out(`  default: ${JSON.stringify(f.default)}`);
    for (const [name, v] of Object.entries(f.variants))
      o.out(`  variant ${terminalLine(name)}: ${JSON.stringify(v.value)} weight ${v.weight}`);
    f.state.rules.forEach((r, i) => o.out(`  rule ${i + 1}: if ${terminalLine(r.if)} serve ${JSON.stringify(r.serve)}`));
    o.out(
      `  version ${f.version}${f.changedAt ? `, changed ${ago(f.changedAt)} by ${terminalLine(f.changedBy ?? '?')}: ${terminalLine(f.reason || '(no reason)')}` : ' (as in slipway.yaml)'}`,
    );
    if (f.differs.length) o.out(`  differs from slipway.yaml: ${differs(o, f)}`);
    if (f.ramp) for (const line of rampLines(f.ramp)) o.out(`  ${line}`);
    return 0;
  },
};

export const flagsSet: CliCommand<{
  on?: boolean;
  off?: boolean;
  rollout?: string;
  by?: string;
  rules?: string;
  reset?: boolean;
  reason?: string;
}> = {
  name: 'flags set',
  summary: 'Change a flag at once, without a deploy: kill switch, rollout percentage, rules (versioned)',
  declare(cmd) {
    cmd.argument('<flag>', 'flag key');
    cmd.option('--on', 'enable the flag');
    cmd.option('--off', 'kill switch: everyone gets the default');
    cmd.option('--rollout <percent>', 'share of users given the "on" value, 0 to 100');
    cmd.option('--by <attribute>', 'context attribute that places users in buckets (with --rollout), e.g. org.id');
    cmd.option('--rules <json>', 'the rules as JSON: [{"if": "user.plan == \\"pro\\"", "serve": true}]');
    cmd.option('--reset', 'drop the run-time changes: back to slipway.yaml');
    cmd.option('--reason <text>', 'why, recorded in the history');
  },
  examples: [
    'slipway flags set new-checkout --off --reason "checkout errors"',
    'slipway flags set new-checkout --on --rollout 25 --by org.id --env production',
    `slipway flags set new-checkout --rules '[{"if": "user.plan == \\"beta\\"", "serve": true}]'`,
    'slipway flags set new-checkout --reset',
  ],
  async run(ctx, [key], flags) {
    if (flags.on && flags.off) throw SlipwayError.of('USAGE', 'give --on or --off, not both');
    let rules: FlagRule[] | undefined;
    if (flags.rules !== undefined) {
      try {
        rules = JSON.parse(flags.rules) as FlagRule[];
      } catch (err) {
        throw SlipwayError.of('USAGE', `--rules is not JSON: ${(err as Error).message}`, {
          hint: `Give a list such as '[{"if": "user.plan == \\"beta\\"", "serve": true}]'.`,
        });
      }
    }
    let rollout: { percent: number; by?: string } | undefined;
    if (flags.rollout !== undefined) {
      const percent = Number(flags.rollout.replace(/%$/, ''));
      rollout = { percent: Number.isFinite(percent) ? percent : Number.NaN, ...(flags.by ? { by: flags.by } : {}) };
    } else if (flags.by)
      throw SlipwayError.of('USAGE', '--by goes with --rollout', { hint: 'slipway flags set KEY --rollout 25 --by org.id' });
    const { c, api } = await client(ctx);
    const res = await api.set(c, key!, {
      ...(flags.on ? { enabled: true } : {}),
      ...(flags.off ? { enabled: false } : {}),
      ...(rollout ? { rollout } : {}),
      ...(rules ? { rules } : {}),
      ...(flags.reset ? { reset: true } : {}),
      by: currentUser(),
      reason: flags.reason ?? '',
    });
    return printChange(ctx, res);
  },
};

export function printChange(ctx: CommandContext, res: FlagChangeResponse): number {
  if (ctx.json) {
    ctx.out.out(JSON.stringify(res, null, 2));
    return 0;
  }
  const f = res.flag;
  if (!res.version) ctx.out.out(`${terminalLine(f.key)} unchanged in ${terminalLine(f.environment)}: ${describeState(f.state)}`);
  else
    ctx.out.out(
      `${terminalLine(f.key)} in ${terminalLine(f.environment)}: ${describeState(res.version.before)} → ${describeState(res.version.after)} (version ${res.version.version})`,
    );
  if (f.differs.length) ctx.out.err(`differs from slipway.yaml (${f.differs.join(', ')}): write it back with slipway flags export`);
  return 0;
}

export const flagsHistory: CliCommand<{ limit?: string }> = {
  name: 'flags history',
  summary: 'Every run-time change of a flag: version, who, when, before → after, why',
  declare(cmd) {
    cmd.argument('<flag>', 'flag key');
    cmd.option('--limit <n>', 'newest n versions', '50');
  },
  examples: ['slipway flags history new-checkout', 'slipway flags history new-checkout --env production --limit 5 --json'],
  async run(ctx, [key], flags) {
    const { c, api } = await client(ctx);
    const res = await api.history(c, key!, Number(flags.limit ?? 50));
    if (ctx.json) {
      ctx.out.out(JSON.stringify(res, null, 2));
      return 0;
    }
    if (!res.versions.length) {
      ctx.out.out(`${terminalLine(key!)} was never changed at run time in ${terminalLine(res.environment)}: it is as slipway.yaml says`);
      return 0;
    }
    ctx.out.out(
      table([
        ['VERSION', 'WHEN', 'BY', 'ACTION', 'BEFORE', 'AFTER', 'REASON'],
        ...res.versions.map((v) => [
          String(v.version),
          ago(v.at),
          terminalLine(v.by),
          v.action === 'revert' ? `revert to ${v.revertOf}` : v.action,
          describeState(v.before),
          describeState(v.after),
          terminalLine(v.reason || '-'),
        ]),
      ]),
    );
    return 0;
  },
};

export const flagsRevert: CliCommand<{ reason?: string }> = {
  name: 'flags revert',
  summary: 'Restore a flag as it was just after an earlier version (0: as slipway.yaml says)',
  declare(cmd) {
    cmd.argument('<flag>', 'flag key');
    cmd.argument('<version>', 'version to restore (slipway flags history lists them)');
    cmd.option('--reason <text>', 'why, recorded in the history');
  },
  examples: ['slipway flags revert new-checkout 3 --reason "back to 10%"', 'slipway flags revert new-checkout 0 --env production'],
  async run(ctx, [key, version], flags) {
    const n = Number(version);
    if (!Number.isInteger(n) || n < 0)
      throw SlipwayError.of('USAGE', `version must be a whole number, got "${version}"`, {
        hint: 'slipway flags history KEY lists the versions.',
      });
    const { c, api } = await client(ctx);
    return printChange(ctx, await api.revert(c, key!, { version: n, by: currentUser(), reason: flags.reason ?? '' }));
  },
};

export const flagsExport: CliCommand = {
  name: 'flags export',
  summary: "Print the flags in force as slipway.yaml's flags: section (run-time changes written in), for git",
  declare() {},
  examples: ['slipway flags export --env production > flags.yaml', 'slipway flags export --json'],
  async run(ctx) {
    const { c, api } = await client(ctx);
    const res = await api.exportYaml(c);
    ctx.out.out(ctx.json ? JSON.stringify(res, null, 2) : res.yaml.trimEnd());
    return 0;
  },
};
