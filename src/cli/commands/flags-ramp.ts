/**
 * `slipway flags ramp FLAG "10% now, 50% in 1h, 100% in 1d"` (and `--cancel`): a rollout schedule
 * the controller follows, each step a flag version (docs/flags.md, "Ramps").
 */
import type { CliCommand } from '../context.js';
import { SlipwayError } from '../../core/errors.js';
import { currentUser } from '../../core/user.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { FlagRamp } from '../../store/flag-types.js';
import { client, describeState } from './flags.js';

/** A ramp in lines: its schedule, then each step applied, skipped or pending with when. */
export function rampLines(r: FlagRamp, now = Date.now()): string[] {
  const when = (at: number) => new Date(at).toISOString().replace(/:\d\d\.\d+Z$/, 'Z');
  return [
    `ramp #${r.id} "${terminalLine(r.schedule)}" by ${terminalLine(r.createdBy)}${r.state === 'active' ? '' : ` (${r.state}: ${terminalLine(r.endReason ?? '')})`}:`,
    ...r.steps.map((s, i) => {
      const what = `  step ${i + 1}: ${s.percent}% at ${when(s.at)}`;
      if (s.skipped) return `${what}, skipped (a later step was due too)`;
      if (s.appliedAt !== undefined) return `${what}, applied${s.version ? ` (version ${s.version})` : ' (already so)'}`;
      return `${what}, pending${s.at > now ? '' : ' (due)'}`;
    }),
  ];
}

export const flagsRamp: CliCommand<{ cancel?: boolean; reason?: string }> = {
  name: 'flags ramp',
  summary: 'Ramp a flag up on a schedule ("10% now, 50% in 1h, 100% in 1d"), or cancel its ramp',
  declare(cmd) {
    cmd.argument('<flag>', 'flag key');
    cmd.argument('[schedule]', 'PERCENT% now | in DURATION | at ISO-TIME, separated by commas');
    cmd.option('--cancel', 'cancel the rest of the ramp (the flag stays as its steps left it)');
    cmd.option('--reason <text>', 'why, recorded in the history');
  },
  examples: [
    'slipway flags ramp new-checkout "10% now, 50% in 1h, 100% in 1d" --env production',
    'slipway flags ramp new-checkout "25% at 2026-12-01T09:00Z, 100% at 2026-12-02T09:00Z"',
    'slipway flags ramp new-checkout --cancel --reason "conversion dropped"',
  ],
  async run(ctx, [key, schedule], flags) {
    if (flags.cancel && schedule !== undefined)
      throw SlipwayError.of('USAGE', 'give a schedule or --cancel, not both', { hint: 'cancel the ramp first, then start the new one' });
    if (!flags.cancel && schedule === undefined)
      throw SlipwayError.of('USAGE', 'a ramp needs its schedule', { hint: `slipway flags ramp ${key} "10% now, 50% in 1h, 100% in 1d"` });
    const { c, api } = await client(ctx);
    const res = await api.ramp(c, key!, {
      ...(flags.cancel ? { cancel: true } : { schedule: schedule! }),
      by: currentUser(),
      reason: flags.reason ?? '',
    });
    if (ctx.json) {
      ctx.out.out(JSON.stringify(res, null, 2));
      return 0;
    }
    ctx.out.out(`${terminalLine(res.flag.key)} in ${terminalLine(res.flag.environment)}: ${describeState(res.flag.state)}`);
    for (const line of rampLines(res.ramp)) ctx.out.out(line);
    if (!flags.cancel) ctx.out.err('any other change of the flag cancels the rest of the ramp');
    return 0;
  },
};
