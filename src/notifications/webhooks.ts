/**
 * Webhook delivery (docs/notifications.md). A rollout event is handed over with `notify`, which
 * returns at once: every delivery runs on its own, each attempt bounded by the webhook's timeout,
 * retried with exponential backoff. Nothing here is awaited by the controller's loop, so a failing
 * or hanging receiver can neither stop nor slow a rollout. Deliveries are kept in memory: those
 * pending when the controller stops are lost (the events stay in the store and `slipway status`).
 */
import type { Logger } from '../core/logger.js';
import type { SlipwayConfig } from '../config/schema.js';
import type { WebhookConfig } from '../config/notifications-schema.js';
import type { Store } from '../store/store.js';
import type { EventRecord } from '../store/types.js';
import { EVENT_TYPES, jsonPayload, slackPayload } from './payload.js';

export interface NotifierOptions {
  config: () => SlipwayConfig | undefined;
  store: Store;
  log: Logger;
  /** Waits between attempts: the first retry after `baseDelayMs`, then twice as long each time. @default 1000 */
  baseDelayMs?: number;
  /** @default 6 */
  attempts?: number;
  /** At most this many deliveries in flight or waiting; more are dropped with a warning. @default 1000 */
  maxPending?: number;
}

export class WebhookNotifier {
  private pending = 0;
  private readonly abort = new AbortController();

  constructor(private readonly o: NotifierOptions) {}

  /** Starts the deliveries `e` calls for and returns at once. */
  notify(e: EventRecord): void {
    const event = EVENT_TYPES[e.type];
    const config = this.o.config();
    if (!event || !config || this.abort.signal.aborted) return;
    const hooks = config.notifications.webhooks.filter((w) => w.events.includes(event));
    if (!hooks.length) return;
    void (async () => {
      const rollout = e.rolloutId === null ? undefined : await this.o.store.getRollout(e.rolloutId).catch(() => undefined);
      const payload = jsonPayload(config.app, event, e, rollout);
      for (const hook of hooks) {
        if (this.pending >= (this.o.maxPending ?? 1000)) {
          this.o.log.warn(`webhook ${origin(hook.url)}: ${payload.event} ${payload.id} dropped: ${this.pending} deliveries pending`);
          continue;
        }
        this.pending++;
        void this.deliver(
          hook,
          payload.event,
          payload.id,
          JSON.stringify(hook.format === 'slack' ? slackPayload(payload, event) : payload),
        ).finally(() => this.pending--);
      }
    })().catch((err: unknown) => this.o.log.warn(`webhooks: ${(err as Error).message}`));
  }

  /** Stops retrying and cuts deliveries in flight (the controller is stopping). */
  close(): void {
    this.abort.abort();
  }

  private async deliver(hook: WebhookConfig, event: string, id: string, body: string): Promise<void> {
    const attempts = this.o.attempts ?? 6;
    let delay = this.o.baseDelayMs ?? 1000;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let why: string;
      // Each attempt's deadline is a timer of its own, held until the attempt ends: a signal made
      // with AbortSignal.any() from AbortSignal.timeout() was seen never to fire (its source timer
      // is only weakly held), leaving an attempt to a hanging receiver waiting forever.
      const attempt$ = new AbortController();
      const timer = setTimeout(() => attempt$.abort(new DOMException(`no answer within ${hook.timeout}ms`, 'TimeoutError')), hook.timeout);
      const stop = () => attempt$.abort(this.abort.signal.reason);
      this.abort.signal.addEventListener('abort', stop, { once: true });
      try {
        const res = await fetch(hook.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'slipway-webhook/1',
            'x-slipway-event': event,
            'x-slipway-delivery': id,
          },
          body,
          signal: attempt$.signal,
          redirect: 'manual',
        });
        await res.body?.cancel().catch(() => undefined);
        if (res.status >= 200 && res.status < 300) return;
        why = `answered ${res.status}`;
      } catch (err) {
        if (this.abort.signal.aborted) return;
        why = (err as Error).name === 'TimeoutError' ? `no answer within ${hook.timeout}ms` : (err as Error).message;
      } finally {
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', stop);
      }
      if (attempt === attempts) {
        this.o.log.warn(`webhook ${origin(hook.url)}: ${event} ${id} not delivered after ${attempts} attempts (last: ${why})`);
        return;
      }
      this.o.log.warn(`webhook ${origin(hook.url)}: ${event} ${id} attempt ${attempt} failed (${why}); retrying in ${delay}ms`);
      if (!(await sleep(delay, this.abort.signal))) return;
      delay *= 2;
    }
  }
}

/** A webhook URL often carries its secret in the path (Slack's do): logs name only the origin. */
function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(bad URL)';
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(true), ms);
    t.unref();
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve(false);
      },
      { once: true },
    );
  });
}
