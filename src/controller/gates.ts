/**
 * The gates of an environment, checked on the deploy path before any work is done: deployment
 * windows (refuse outside them, unless overridden with a reason, which is recorded) and the
 * approval a new deploy must wait for. One small module, so that other gates (policies) sit
 * beside these and are called from the same place. The decisions themselves are pure
 * (environments/windows.ts, rollout/approval.ts); this file reads the config and the calendar
 * and records what happened.
 */
import { SlipwayError } from '../core/errors.js';
import type { EnvironmentConfig } from '../config/schema.js';
import { formatInstant, isAllowed, type WindowVerdict } from '../environments/windows.js';
import type { ApprovalState } from '../rollout/types.js';
import type { PlanGate } from '../api/types.js';
import type { Controller } from './controller.js';

/** What a deploy asks the gates. */
export interface GateRequest {
  environment: string;
  service: string;
  /** Who deploys (recorded with an override). */
  by: string;
  /** `--override --reason`: go through a closed deployment window; the reason is required and recorded. */
  override?: { reason: string };
}

/** What a caller may show of a gate that let the deploy through. */
export interface GateOutcome {
  /** Set when a closed window was overridden. */
  overridden?: { window: string; reason: string };
}

/** The environment's settings in slipway.yaml (as last loaded), if it is defined there. */
export function environmentConfig(c: Controller, environment: string): EnvironmentConfig | undefined {
  return c.currentConfig?.environments[environment];
}

/**
 * Refuses a deploy that the environment's gates do not allow now. Call it on the deploy path
 * before any work is done. Outside a deployment window the deploy is refused with the next
 * allowed time, unless `override` gives a reason: then it goes through and the override is
 * recorded as an event.
 * @throws SlipwayError DEPLOY_WINDOW_CLOSED, OVERRIDE_REASON_REQUIRED
 */
export async function checkGates(c: Controller, req: GateRequest): Promise<GateOutcome> {
  const windows = environmentConfig(c, req.environment)?.windows;
  if (req.override && !req.override.reason.trim())
    throw SlipwayError.of('OVERRIDE_REASON_REQUIRED', 'an override needs a reason', {
      hint: 'Say why with --reason "…"; it is recorded with the deploy.',
    });
  if (!windows) return {};
  const now = c.calendar.now();
  const verdict = isAllowed(windows, now);
  if (verdict.allowed) return {};
  const zone = windows.timezone;
  if (req.override) {
    const window = verdict.deniedBy ?? 'allow windows';
    await c.event(
      req.service,
      null,
      'gate.window-overridden',
      `deploy of ${req.service} to ${req.environment} at ${formatInstant(now, zone)} went through a closed deployment window (${verdict.reason}), overridden by ${req.by}: ${req.override.reason}`,
      { environment: req.environment, by: req.by, reason: req.override.reason, window, at: now },
    );
    c.log.warn(`${req.service}: deployment window overridden by ${req.by}: ${req.override.reason}`);
    return { overridden: { window, reason: req.override.reason } };
  }
  throw SlipwayError.of(
    'DEPLOY_WINDOW_CLOSED',
    `deploys to ${req.environment} are not allowed at ${formatInstant(now, zone)}: ${verdict.reason}`,
    {
      hint: `${nextAllowedText(verdict, zone)}; or deploy now with --override --reason "…" (recorded).`,
      details: {
        environment: req.environment,
        window: verdict.deniedBy ?? null,
        now: new Date(now).toISOString(),
        nextAllowed: verdict.nextAllowed === null ? null : new Date(verdict.nextAllowed).toISOString(),
        timezone: zone,
      },
    },
  );
}

/** The approval a new deploy of `service` waits for, when its environment requires one. */
export function approvalFor(c: Controller, environment: string, service: string): ApprovalState | undefined {
  if (!environmentConfig(c, environment)?.approval?.required) return undefined;
  return {
    state: 'pending',
    command: `slipway approve ${service} --env ${environment} --comment "…"`,
    requestedAt: c.clock.now(),
  };
}

/** The window's verdict now, for plan and status. */
export function windowVerdict(c: Controller, environment: string): (WindowVerdict & { timezone: string; at: number }) | undefined {
  const windows = environmentConfig(c, environment)?.windows;
  if (!windows) return undefined;
  const at = c.calendar.now();
  return { ...isAllowed(windows, at), timezone: windows.timezone, at };
}

function nextAllowedText(v: WindowVerdict, zone: string): string {
  return v.nextAllowed === null
    ? 'No deploy is allowed within the next year by these windows'
    : `The next allowed time is ${formatInstant(v.nextAllowed, zone)}`;
}

/** The environment's gates as `slipway plan` shows them: what a deploy passes through now. */
export function planGates(c: Controller, environment: string): PlanGate[] {
  const gates: PlanGate[] = [];
  if (environmentConfig(c, environment)?.approval?.required)
    gates.push({ kind: 'approval', required: true, message: 'the rollout waits for `slipway approve` before anything starts' });
  const v = windowVerdict(c, environment);
  if (v) {
    const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());
    gates.push({
      kind: 'window',
      open: v.allowed,
      message: v.allowed
        ? `deployment window open${v.closesAt ? `; closes ${formatInstant(v.closesAt, v.timezone)}` : ''}`
        : `deployment window closed: ${v.reason}; ${nextAllowedText(v, v.timezone).replace(/^The/, 'the')} (or --override --reason "…")`,
      timezone: v.timezone,
      deniedBy: v.deniedBy ?? null,
      nextAllowed: iso(v.allowed ? v.at : v.nextAllowed),
      nextAllowedLocal: v.allowed
        ? formatInstant(v.at, v.timezone)
        : v.nextAllowed === null
          ? null
          : formatInstant(v.nextAllowed, v.timezone),
      closesAt: v.allowed ? iso(v.closesAt) : null,
    });
  }
  return gates;
}
