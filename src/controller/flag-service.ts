/**
 * The project controller's one FlagService (src/flags/service.ts): what the API's flag routes, the
 * rollouts' flag steps and the ramp schedules all change, so that each change reaches connected
 * providers at once and is versioned in one history.
 */
import { audit } from '../access/audit.js';
import { FlagRamps, rampActor } from '../flags/ramps.js';
import { FlagService } from '../flags/service.js';
import type { FlagVersion } from '../store/flag-types.js';
import type { ProjectController } from './project-controller.js';

const services = new WeakMap<ProjectController, FlagService>();
const ramps = new WeakMap<ProjectController, FlagRamps>();

/** The flag service of a project's controller (one per controller process). */
export function flagService(project: ProjectController): FlagService {
  let s = services.get(project);
  if (!s) {
    s = new FlagService(
      project.store,
      () => {
        try {
          // Reads slipway.yaml again when it changed (a stat otherwise); an invalid file keeps the last valid one.
          project.resolve(undefined);
        } catch {
          /* no default environment: the config was refreshed all the same */
        }
        return project.currentConfig?.flags ?? {};
      },
      () => project.clock.now(),
    );
    services.set(project, s);
  }
  return s;
}

/**
 * The project's ramp schedules. Their time is the calendar clock (what deployment windows are judged
 * by: the controller's clock, shifted only for tests by SLIPWAY_TEST_NOW), so that a test can run a
 * ramp an hour ahead without waiting.
 */
export function flagRamps(project: ProjectController): FlagRamps {
  let r = ramps.get(project);
  if (!r) {
    r = new FlagRamps(
      project.store,
      flagService(project),
      () => project.calendar.now(),
      (ramp, version) =>
        auditFlagChange(project, {
          actor: rampActor(ramp.id),
          action: 'flag.ramp.step',
          environment: ramp.environment,
          service: null,
          key: ramp.flag,
          version,
        }),
    );
    ramps.set(project, r);
  }
  return r;
}

/** A flag change's audit entry: which flag, its state before and after, and why (the flag's own history has the rest). */
export function flagAuditDetail(key: string, v: FlagVersion | null): { before: unknown; after: unknown; reason?: string } {
  return {
    before: { flag: key, ...(v ? { state: v.before } : {}) },
    after: { flag: key, ...(v ? { version: v.version, state: v.after } : {}) },
    ...(v?.reason ? { reason: v.reason } : {}),
  };
}

/** Records a change the controller made by itself (a rollout's step, a ramp) in the audit log, its author as the actor. */
export async function auditFlagChange(
  project: ProjectController,
  e: { actor: string; action: string; environment: string; service: string | null; key: string; version: FlagVersion },
): Promise<void> {
  await audit(project.store, {
    actor: e.actor,
    action: e.action,
    environment: e.environment,
    service: e.service,
    ...flagAuditDetail(e.key, e.version),
    reason: e.version.reason,
    outcome: 'ok',
  });
}
