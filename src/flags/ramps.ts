/**
 * Ramp schedules (`slipway flags ramp new-checkout "10% now, 50% in 1h, 100% in 1d"`): durable in
 * the store (flag_ramps), applied by the controller's loop when each step is due (`tick`), each
 * applied step a new flag version authored by "ramp #N". A step that fell due while no controller
 * ran is applied at its next start, once: when several fell due, only the latest is applied (the
 * others are marked skipped), so a flag does not flap through percentages nobody saw. Any other
 * change of the flag cancels the rest of the ramp (FlagService.cancelRamps); so does `--cancel`.
 * Time is injected (the controller's clock), so tests move it rather than wait.
 */
import { SlipwayError } from '../core/errors.js';
import type { FlagRamp, FlagRampStep, FlagVersion } from '../store/flag-types.js';
import type { Store } from '../store/store.js';
import { parseRampSchedule } from './ramp-schedule.js';
import type { FlagService } from './service.js';

/** The author of a ramp's steps in the flag history and the audit log. */
export const rampActor = (id: number) => `ramp #${id}`;

/** Told of every step applied, for the audit log. */
export type RampListener = (ramp: FlagRamp, version: FlagVersion) => Promise<void>;

export class FlagRamps {
  /** One pass at a time: the loop's tick and an API call must not apply the same step twice. */
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly flags: FlagService,
    private readonly now: () => number,
    private readonly onApplied: RampListener = async () => undefined,
  ) {}

  /**
   * Starts a ramp of `key` in `environment`; a step due now is applied before this returns.
   * @throws SlipwayError FLAG_NOT_FOUND, FLAG_RAMP_INVALID, FLAG_CHANGE_INVALID, FLAG_RAMP_ACTIVE
   */
  start(environment: string, key: string, schedule: string, by: string, reason: string): Promise<FlagRamp> {
    return this.serial(async () => {
      const steps = parseRampSchedule(schedule, this.now());
      // Every step is checked now (a flag with nothing to roll out is refused before anything is recorded).
      for (const s of steps) await this.flags.check(environment, key, { rollout: s.percent });
      const active = await this.active(environment, key);
      if (active)
        throw SlipwayError.of(
          'FLAG_RAMP_ACTIVE',
          `flag "${key}" already follows ramp #${active.id} in ${environment} ("${active.schedule}")`,
          {
            hint: `Cancel it first: slipway flags ramp ${key} --cancel --env ${environment}`,
          },
        );
      const ramp = await this.store.createFlagRamp({
        environment,
        flag: key,
        schedule,
        steps,
        createdBy: by,
        createdAt: this.now(),
        reason,
      });
      return this.applyDue(ramp);
    });
  }

  /**
   * Cancels the rest of `key`'s ramp; the flag stays as the steps so far left it.
   * @throws SlipwayError FLAG_RAMP_NOT_FOUND
   */
  cancel(environment: string, key: string, by: string, reason: string): Promise<FlagRamp> {
    return this.serial(async () => {
      await this.flags.get(environment, key);
      const ramp = await this.active(environment, key);
      if (!ramp)
        throw SlipwayError.of('FLAG_RAMP_NOT_FOUND', `flag "${key}" has no active ramp in ${environment}`, {
          hint: `It finished or a change cancelled it: slipway flags get ${key} --env ${environment}`,
        });
      const ended = { state: 'cancelled' as const, endedAt: this.now(), endReason: `cancelled by ${by}${reason ? `: ${reason}` : ''}` };
      await this.store.updateFlagRamp(ramp.id, { steps: ramp.steps, ...ended });
      return { ...ramp, ...ended };
    });
  }

  /** The active ramp of `key` in `environment`, if any. */
  async active(environment: string, key: string): Promise<FlagRamp | undefined> {
    return (await this.store.listFlagRamps({ environment, flag: key, state: 'active', limit: 1 }))[0];
  }

  /** Applies every ramp step that is due (the controller's loop calls this each tick). */
  tick(): Promise<void> {
    return this.serial(async () => {
      for (const ramp of await this.store.listFlagRamps({ state: 'active', limit: 10_000 })) {
        if (!ramp.steps.some((s) => s.appliedAt === undefined && s.at <= this.now())) continue;
        await this.applyDue(ramp);
      }
    });
  }

  private async applyDue(ramp: FlagRamp): Promise<FlagRamp> {
    const now = this.now();
    const due = ramp.steps.map((s, i) => ({ s, i })).filter(({ s }) => s.appliedAt === undefined && s.at <= now);
    if (!due.length) return ramp;
    const last = due.at(-1)!;
    const steps: FlagRampStep[] = ramp.steps.map((s) => ({ ...s }));
    for (const { i } of due.slice(0, -1)) steps[i] = { ...steps[i]!, appliedAt: now, skipped: true };
    let version: FlagVersion | null;
    try {
      const skipped = due.length > 1 ? `; ${due.length - 1} earlier step(s) fell due while no controller ran` : '';
      ({ version } = await this.flags.change(
        ramp.environment,
        ramp.flag,
        {
          rollout: last.s.percent,
          by: rampActor(ramp.id),
          reason: `ramp #${ramp.id} step ${last.i + 1}/${ramp.steps.length} ("${ramp.schedule}")${skipped}`,
        },
        { ramp: ramp.id },
      ));
    } catch (err) {
      // The flag left slipway.yaml (or can no longer take the step): the ramp ends, saying why.
      const e = SlipwayError.from(err);
      const ended = { state: 'cancelled' as const, endedAt: now, endReason: `step ${last.i + 1} failed: ${e.code}: ${e.message}` };
      await this.store.updateFlagRamp(ramp.id, { steps, ...ended });
      return { ...ramp, steps, ...ended };
    }
    steps[last.i] = { ...steps[last.i]!, appliedAt: now, version: version?.version ?? null };
    const done = steps.every((s) => s.appliedAt !== undefined);
    const ended = done ? { state: 'done' as const, endedAt: now, endReason: 'done' } : {};
    await this.store.updateFlagRamp(ramp.id, { steps, ...ended });
    const updated = { ...ramp, steps, ...ended };
    if (version) await this.onApplied(updated, version);
    return updated;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.running.then(fn, fn);
    this.running = p.catch(() => undefined);
    return p;
  }
}
