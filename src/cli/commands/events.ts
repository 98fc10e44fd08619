import { ControllerClient } from '../../client/client.js';
import { followEvents, type StreamMessage } from '../../client/sse.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';
import type { Output } from '../output.js';

/**
 * `slipway events [SERVICE]`: what happened, oldest first (the event log); `-f` follows the
 * controller's event stream (GET /v1/events, server-sent events) with audit entries, until Ctrl-C.
 */
export const events: CliCommand<{ follow: boolean; after?: string; limit: number }> = {
  name: 'events',
  summary: 'What happened: rollout steps, traffic, instances, verdicts (-f follows them live, with audit entries)',
  declare(cmd) {
    cmd.argument('[service]', 'only events of this service');
    cmd.option('-f, --follow', 'follow the live event stream until Ctrl-C (audit entries too)', false);
    cmd.option('--after <id>', 'with -f: continue after this event id (the `id` of the last one seen) instead of from now');
    cmd.option('-n, --limit <count>', 'without -f: at most this many (the oldest after --after)', (v) => Number(v), 200);
  },
  examples: ['slipway events web', 'slipway events -f', 'slipway events web -f --json --after 42.7', 'slipway events --limit 20'],
  async run({ dir, env, out, json }, args, flags) {
    const client = ControllerClient.connect(dir, env);
    const service = args[0];
    if (!flags.follow) {
      const after = flags.after === undefined ? 0 : Number.parseInt(flags.after, 10) || 0;
      const { events: list } = await client.call<{ events: import('../../store/types.js').EventRecord[] }>(
        'GET',
        `/v1/events?${new URLSearchParams({ ...(service ? { service } : {}), after: String(after), limit: String(flags.limit) })}`,
      );
      if (json) out.out(JSON.stringify({ events: list }, null, 2));
      else if (!list.length) out.out('no events');
      else for (const e of list) out.out(eventLine({ id: String(e.id), type: 'event', data: e }, out));
      return 0;
    }
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      await followEvents(client, { service, after: flags.after, allEnvironments: env === undefined, signal: stop.signal }, (m) => {
        if (json) out.out(JSON.stringify({ id: m.id, type: m.type, data: m.data }));
        else if (m.type !== 'ready') out.out(eventLine(m, out));
      });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return 0;
  },
};

/** One message as a line: time, where, what, and the message (audit: who did what, and how it ended). */
export function eventLine(m: StreamMessage, out: Output): string {
  const time = (at: number) => new Date(at).toISOString().slice(11, 23);
  if (m.type === 'event') {
    const e = m.data;
    const where = [e.environment, e.service].filter(Boolean).join('/');
    const colour = /failed|crashed|rolledback|aborted|denied|rejected/.test(e.type)
      ? 'red'
      : /healthy|promote/.test(e.type)
        ? 'green'
        : 'cyan';
    return `${time(e.at)} ${terminalLine(where).padEnd(18)} ${out.paint(colour, e.type.padEnd(24))} ${terminalLine(e.message)}`;
  }
  if (m.type === 'audit') {
    const a = m.data;
    const where = [a.environment, a.service].filter(Boolean).join('/') || '-';
    const outcome = a.outcome === 'ok' ? 'ok' : out.paint('red', a.outcome);
    return `${time(a.at)} ${terminalLine(where).padEnd(18)} ${out.paint('yellow', `audit ${a.action}`.padEnd(24))} ${terminalLine(a.actor)}: ${outcome}${a.reason ? ` (${terminalLine(a.reason)})` : ''}`;
  }
  if (m.type === 'dropped') return out.paint('red', `stream dropped: ${m.data.message}`);
  return `${m.type}: ${JSON.stringify(m.data)}`;
}
