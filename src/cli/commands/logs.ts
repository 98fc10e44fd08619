import { ControllerClient } from '../../client/client.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';
import { wholeNumber } from '../flags.js';

export const logs: CliCommand<{ follow?: boolean; lines: number; raw?: boolean }> = {
  name: 'logs',
  summary: "Print a service's instance logs; -f follows them across rollouts",
  declare(cmd) {
    cmd.argument('<service>', 'service name from slipway.yaml');
    cmd.option('-f, --follow', 'keep printing new lines, across rollouts and log rotation, until Ctrl-C');
    cmd.option('-n, --lines <count>', 'how many of the last lines of each instance to print first', wholeNumber(0, '100'), 100);
    cmd.option('--raw', "print lines as the instances wrote them, terminal escape sequences included (default: shown as text)");
  },
  examples: [
    'slipway logs web -n 20         # the last 20 lines of each instance',
    'slipway logs web --follow      # and new ones, until Ctrl-C',
    'slipway logs web --raw         # keep the app\'s own colours',
    'slipway logs web --json        # one JSON object per line: instance, release, stream, line',
  ],
  async run({ dir, out, json }, [service], flags) {
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    try {
      await ControllerClient.connect(dir).logs(service!, { lines: flags.lines, follow: !!flags.follow, signal: abort.signal }, (l) => {
        if (json) { out.out(JSON.stringify(l)); return; }
        // A log line is the app's text; unless asked for raw, it cannot drive the terminal.
        out.out(`${out.paint('dim', `${terminalLine(l.instance)} |`)} ${flags.raw ? l.line : terminalLine(l.line)}`);
      });
    } catch (err) {
      if (abort.signal.aborted) return 0;
      throw err;
    }
    return 0;
  },
};
