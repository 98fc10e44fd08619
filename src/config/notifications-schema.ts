/**
 * The `notifications:` section of slipway.yaml: webhooks told about rollouts (src/notifications/,
 * docs/notifications.md). Delivery is retried with backoff and never holds a rollout up.
 */
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';

/** The rollout events a webhook can subscribe to. */
export const WEBHOOK_EVENTS = ['started', 'paused', 'promoted', 'succeeded', 'failed', 'rolled-back'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

const DURATION = /^(\d+(\.\d+)?(ms|s|m|h))+$/;

export const webhookSchema = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
      .meta({ description: 'Where the events are POSTed. Treated as a secret: logs show only its origin.' }),
    events: z
      .array(z.enum(WEBHOOK_EVENTS))
      .min(1)
      .prefault([...WEBHOOK_EVENTS])
      .meta({ description: `Which rollout events to send (default: all): ${WEBHOOK_EVENTS.join(', ')}.` }),
    format: z
      .enum(['json', 'slack'])
      .prefault('json')
      .meta({ description: "json: Slipway's documented payload; slack: a Slack-compatible { text } message (incoming webhooks)." }),
    timeout: z
      .string()
      .regex(DURATION, 'expected a duration like "500ms", "5s" or "1m"')
      .transform((s) => parseDuration(s) ?? Number.NaN)
      .prefault('5s')
      .meta({ description: 'How long one delivery attempt may take before it counts as failed (default 5s).' }),
  })
  .meta({ description: 'A webhook told about rollouts: started, paused, promoted, succeeded, failed, rolled back.' });

export const notificationsSectionSchema = z
  .strictObject({
    webhooks: z.array(webhookSchema).prefault([]).meta({ description: 'Webhooks told about rollouts, each with its events and format.' }),
  })
  .prefault({})
  .meta({ description: 'Who is told about rollouts. See docs/notifications.md.' });

export type WebhookConfig = z.output<typeof webhookSchema>;
