import { ControllerClient } from '../../client/client.js';
import { followEvents } from '../../client/sse.js';
import { SlipwayError } from '../../core/errors.js';
import { terminalLine } from '../../core/terminal-text.js';
import { coalescingRefresh } from '../coalescing-refresh.js';
import type { CliCommand } from '../context.js';
import { fitWidth } from '../output.js';
import { renderWatch, watchFrame, type WatchFrame } from '../render/watch.js';

/** Without the event stream (an older controller), the view is read this often. */
const POLL_MS = 1_000;
/** With it, the view is read again at each event, and this often regardless (instances' health has no event of its own). */
const REFRESH_MS = 5_000;

/**
 * `slipway watch [SERVICE]`: a live view of every service and rollout, redrawn in place on a
 * terminal at each event of the controller's event stream; plain frames, each printed when it
 * changes, when stdout is not a terminal. Ctrl-C ends it (exit 0).
 */
export const watch: CliCommand<{ once: boolean }> = {
  name: 'watch',
  summary: 'A live view of every service and rollout: release, step, weights, health, last verdict (Ctrl-C ends)',
  declare(cmd) {
    cmd.argument('[service]', 'only this service');
    cmd.option('--once', 'print one frame and exit (with --json: the frame as JSON)', false);
  },
  examples: ['slipway watch', 'slipway watch web --env production', 'slipway watch --once --json'],
  async run({ dir, env, out, json }, args, flags) {
    const client = ControllerClient.connect(dir, env);
    const only = args[0];
    const read = async (): Promise<WatchFrame> => {
      const status = await client.status();
      if (only !== undefined && !status.services.some((s) => s.service === only))
        throw SlipwayError.of('SERVICE_NOT_FOUND', `no service named "${terminalLine(only)}"`, {
          hint: `Services: ${status.services.map((s) => terminalLine(s.service)).join(', ') || 'none yet'}.`,
        });
      return watchFrame(status, only);
    };
    if (flags.once) {
      const frame = await read();
      if (json) out.out(JSON.stringify(frame, null, 2));
      else for (const line of renderWatch(frame, out)) out.out(line);
      return 0;
    }

    const stdout = process.stdout;
    const tty = out.tty && !json;
    let drawn = 0;
    let lastText = '';
    const draw = (frame: WatchFrame) => {
      if (json) {
        const text = JSON.stringify({ ...frame, at: '' });
        if (text !== lastText) out.out(JSON.stringify(frame));
        lastText = text;
        return;
      }
      const lines = renderWatch(frame, out);
      // Plain output: a frame only when something other than its time changed.
      const text = lines.slice(1).join('\n');
      if (!tty) {
        if (text !== lastText) out.out([...lines, ''].join('\n'));
        lastText = text;
        return;
      }
      const width = Math.max(20, (stdout.columns || 80) - 1);
      const fitted = lines.map((l) => fitWidth(l, width));
      // Up to the first line of the last frame, then each line cleared as it is written, and what is left below cleared.
      stdout.write(`${drawn ? `\x1b[${drawn}F` : ''}${fitted.map((l) => `\x1b[2K${l}`).join('\n')}\n\x1b[J`);
      drawn = fitted.length;
    };

    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    if (tty) stdout.write('\x1b[?25l'); // no cursor blinking over the view
    const view = coalescingRefresh(async () => draw(await read()), stop);
    const refresh = view.refresh;
    try {
      refresh();
      let timer = setInterval(refresh, REFRESH_MS);
      try {
        await followEvents(client, { service: only, signal: stop.signal }, () => refresh());
      } catch {
        // No event stream (an older controller) or it broke for good: read the view on a timer instead.
        clearInterval(timer);
        timer = setInterval(refresh, POLL_MS);
        await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
      } finally {
        clearInterval(timer);
      }
      await view.settled();
    } finally {
      if (tty) stdout.write('\x1b[?25h');
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (view.failure !== undefined) throw view.failure;
    return 0;
  },
};
