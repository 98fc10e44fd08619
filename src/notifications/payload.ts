/**
 * What a webhook receives (docs/notifications.md): Slipway's JSON payload, or a Slack-compatible
 * `{ text }` message. Both are built from the rollout event and the rollout it is about.
 */
import type { WebhookEvent } from '../config/notifications-schema.js';
import type { EventRecord, Rollout } from '../store/types.js';

/** Which store events (controller.ts, rollout-commands.ts, deploys.ts) are which webhook events. */
export const EVENT_TYPES: Record<string, WebhookEvent> = {
  'rollout.started': 'started',
  'rollout.paused': 'paused',
  'rollout.promote': 'promoted',
  'rollout.healthy': 'succeeded',
  'rollout.failed': 'failed',
  'rollout.rolledback': 'rolled-back',
};

export interface WebhookPayload {
  /** Of this payload's shape; a change that breaks receivers gets a new number. */
  version: 1;
  /** e.g. "rollout.succeeded". */
  event: `rollout.${WebhookEvent}`;
  /** Unique per event and project: receivers can drop a retried delivery they already have. */
  id: string;
  at: string;
  app: string;
  environment: string;
  service: string | null;
  rollout: Pick<Rollout, 'id' | 'kind' | 'fromRelease' | 'toRelease' | 'targetRelease' | 'phase' | 'reason'> | null;
  message: string;
}

export function jsonPayload(app: string, event: WebhookEvent, e: EventRecord, rollout: Rollout | undefined): WebhookPayload {
  return {
    version: 1,
    event: `rollout.${event}`,
    id: `${app}:${e.id}`,
    at: new Date(e.at).toISOString(),
    app,
    environment: e.environment,
    service: e.service,
    rollout: rollout
      ? {
          id: rollout.id,
          kind: rollout.kind,
          fromRelease: rollout.fromRelease,
          toRelease: rollout.toRelease,
          targetRelease: rollout.targetRelease,
          phase: rollout.phase,
          reason: rollout.reason,
        }
      : null,
    message: e.message,
  };
}

const EMOJI: Record<WebhookEvent, string> = {
  started: ':rocket:',
  paused: ':double_vertical_bar:',
  promoted: ':arrow_up:',
  succeeded: ':white_check_mark:',
  failed: ':x:',
  'rolled-back': ':rewind:',
};

/** A Slack incoming-webhook message: `text` is the notification and the fallback; mrkdwn is on by default. */
export function slackPayload(p: WebhookPayload, event: WebhookEvent): { text: string } {
  const what = p.rollout
    ? `${p.rollout.kind} #${p.rollout.id} ${event} (release ${p.rollout.fromRelease ?? '–'} → ${p.rollout.toRelease})`
    : `rollout ${event}`;
  return {
    text: `${EMOJI[event]} *${slackEscape(`${p.app}/${p.service ?? '-'}`)}* in ${slackEscape(p.environment)}: ${what}\n${slackEscape(p.message)}`,
  };
}

/** Slack's three control characters in message text. */
function slackEscape(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
