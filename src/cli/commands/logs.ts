import { ControllerClient } from '../../client/client.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';
import { wholeNumber } from '../flags.js';

export const logs: CliCommand<{ follow?: boolean; lines?: number; since?: string; raw?: boolean }> = {
  name: 'logs',
  summary:
    "Print a service's instance logs in the order they were written (every host's, on an ssh environment); -f follows them across rollouts",
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
    'slipway logs web --json        # one JSON object per line: instance, release, stream, at, line (and host)',
    "slipway logs web --env production -n 50   # a fleet: every host's lines, each with its host",
  ],
  async run({ dir, env, out, json }, [service], flags) {
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    // With --since, every line since then unless -n says otherwise (as kubectl logs --since).
    const lines = flags.lines ?? (flags.since !== undefined ? 1_000_000 : 100);
    // Hosts of an ssh environment whose lines are missing now (named once on stderr; exit 1 if any is left).
    const missing = new Set<string>();
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
          const from = l.host === undefined ? terminalLine(l.instance) : `${terminalLine(l.host)} ${terminalLine(l.instance)}`;
          out.out(`${out.paint('dim', `${l.at ?? '-'.padEnd(27)} ${from} |`)} ${flags.raw ? l.line : terminalLine(l.line)}`);
        },
        (n) => {
          if (json) out.out(JSON.stringify(n));
          if (n.problem) {
            missing.add(n.host);
            out.err(
              `${out.paint('red', '✗')} ${terminalLine(n.host)}: its lines are missing: ${terminalLine(`${n.problem.code}: ${n.problem.message}`)}`,
            );
          } else {
            missing.delete(n.host);
            out.err(`${out.paint('green', '✓')} ${terminalLine(n.host)}: reachable again; its lines follow`);
          }
        },
      );
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    }
    // As `hosts check` and `down`: 1 when a host could not be read (its lines are not all here).
    return missing.size > 0 ? 1 : 0;
  },
};
