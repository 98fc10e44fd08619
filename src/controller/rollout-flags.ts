/**
 * Feature flags changed by a rollout (docs/flags.md, "Flags in rollouts"): the engine says what it
 * wants (TransitionResult.flags: the percentages of the canary `flag` steps passed, a restore when
 * the rollout is undone, flags to switch off when a check with `onFailure.flagOff` failed); here
 * each change is made once, as a flag version authored by "rollout #N", audited and told as an
 * event. What was done is kept in the rollout's progress (`flags`), persisted with it, so a
 * restarted controller neither repeats a change nor forgets to undo one. A change made twice (a
 * crash between the change and the persist) records nothing the second time: the flag service
 * skips a change that changes nothing.
 */
import { SlipwayError } from '../core/errors.js';
import type { FlagChange } from '../flags/service.js';
import type { FlagVersion } from '../store/flag-types.js';
import type { Rollout } from '../store/types.js';
import type { RolloutFlagState, TransitionResult } from '../rollout/types.js';
import type { Controller } from './controller.js';
import { auditFlagChange, flagService } from './flag-service.js';

/** The author of a rollout's flag changes, in the flag history and the audit log. */
export const rolloutActor = (id: number) => `rollout #${id}`;

/** Makes the flag changes `result` asks for that this rollout has not made yet; records them in `result`'s progress. */
export async function applyRolloutFlags(c: Controller, rollout: Rollout, result: TransitionResult): Promise<void> {
  const wants = result.flags;
  const r = result.rollout;
  if (!wants || !r) return;
  const before = r.progress.flags ?? {};
  const state: RolloutFlagState = { ...before };
  const actor = rolloutActor(rollout.id);
  const flags = flagService(c.project);
  const env = c.environment;

  const attempt = async (key: string, what: string, action: string, change: () => Promise<{ version: FlagVersion | null }>) => {
    try {
      const { version } = await change();
      if (!version) return;
      await auditFlagChange(c.project, { actor, action, environment: env, service: rollout.service, key, version });
      await c.event(rollout.service, rollout.id, 'flag.changed', `flag ${key} ${what} (version ${version.version})`, {
        flag: key,
        version: version.version,
        before: version.before,
        after: version.after,
      });
    } catch (err) {
      // A flag gone from slipway.yaml since the rollout began, or a change the flag refuses: said once, not retried.
      const e = SlipwayError.from(err);
      c.log.warn(`${actor} of ${rollout.service}: flag ${key} not ${what}: ${e.code}: ${e.message}`);
      await c.event(rollout.service, rollout.id, 'flag.change-failed', `flag ${key} not ${what}: ${e.message}`, {
        flag: key,
        code: e.code,
      });
    }
  };
  const change = (key: string, what: string, ch: FlagChange) =>
    attempt(key, what, 'flag.change', () => flags.change(env, key, { ...ch, by: actor }));

  for (const [key, percent] of Object.entries(wants.set)) {
    if (state.applied?.[key] === percent) continue;
    // The percentage only: a flag someone switched off (the kill switch) stays off.
    await change(key, `set to ${percent}%`, {
      rollout: percent,
      reason: `canary step of ${actor} (${rollout.service} release ${rollout.toRelease})`,
    });
    state.applied = { ...state.applied, [key]: percent };
  }

  if (wants.restore && !state.restored && Object.keys(state.applied ?? {}).length) {
    for (const key of Object.keys(state.applied ?? {})) {
      const history = await flags.history(env, key, 10_000).catch(() => []);
      // Changed by someone else since the step: their change stands.
      if (history[0]?.by !== actor) continue;
      const target = history.find((v) => v.by !== actor)?.version ?? 0;
      await attempt(key, `restored as before ${actor}`, 'flag.revert', () =>
        flags.revert(env, key, target, actor, `${actor} of ${rollout.service} was undone (${r.reason}): the flag as before the rollout`),
      );
    }
    state.restored = true;
  }

  for (const key of wants.off?.flags ?? []) {
    if (state.off?.includes(key)) continue;
    await change(key, 'switched off', { enabled: false, reason: `${wants.off!.why} (onFailure.flagOff)` });
    state.off = [...(state.off ?? []), key];
  }

  if (JSON.stringify(state) !== JSON.stringify(before)) r.progress = { ...r.progress, flags: state };
}
