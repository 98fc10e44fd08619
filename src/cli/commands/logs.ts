import { ControllerClient } from '../../client/client.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';
import { wholeNumber } from '../flags.js';

export const logs: CliCommand<{ follow?: boolean; lines?: number; since?: string; raw?: boolean }> = {
  name: 'logs',
  summary: "Print a service's instance logs in the order they were written; -f follows them across rollouts",
  declare(cmd) {
    cmd.argument('<service>', 'service name from slipway.yaml');
    cmd.option('-f, --follow', 'keep printing new lines, across rollouts and log rotation, until Ctrl-C');
    cmd.option(
      '-n, --lines <count>',
      'how many of the last lines to print first (default 100; with --since, every line since then)',
      wholeNumber(0, '100'),
    );
    cmd.option('--since <time>', 'only lines written since then: an age such as 10m or 2h, or an ISO time');
    cmd.option('--raw', 'print lines as the instances wrote them, terminal escape sequences included (default: shown as text)');
  },
  examples: [
    'slipway logs web -n 20         # the last 20 lines',
    'slipway logs web --since 10m   # every line of the last ten minutes',
    'slipway logs web --follow      # and new ones, until Ctrl-C',
    "slipway logs web --raw         # keep the app's own colours",
    'slipway logs web --json        # one JSON object per line: instance, release, stream, at, line',
  ],
  async run({ dir, env, out, json }, [service], flags) {
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    // With --since, every line since then unless -n says otherwise (as kubectl logs --since).
    const lines = flags.lines ?? (flags.since !== undefined ? 1_000_000 : 100);
    try {
      await ControllerClient.connect(dir, env).logs(
        service!,
        { lines, follow: !!flags.follow, since: flags.since, signal: abort.signal },
        (l) => {
          if (json) {
            out.out(JSON.stringify(l));
            return;
          }
          // A log line is the app's text; unless asked for raw, it cannot drive the terminal.
          out.out(
            `${out.paint('dim', `${l.at ?? '-'.padEnd(27)} ${terminalLine(l.instance)} |`)} ${flags.raw ? l.line : terminalLine(l.line)}`,
          );
        },
      );
    } catch (err) {
      if (abort.signal.aborted) return 0;
      throw err;
    }
    return 0;
  },
};
