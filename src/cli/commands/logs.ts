import { parseArgs } from 'node:util';
import { ControllerClient } from '../../client/client.js';
import { SlipwayError } from '../../core/errors.js';
import type { Command } from '../context.js';

export const logs: Command = {
  name: 'logs',
  summary: "Print a service's instance logs in the order they were written; -f follows them across rollouts",
  usage: 'slipway logs SERVICE [-f|--follow] [-n|--lines N] [--since TIME|AGE] [--json]',
  async run({ dir, out, json, args }) {
    const { values, positionals } = parseArgs({
      args, allowPositionals: true,
      options: { follow: { type: 'boolean', short: 'f' }, lines: { type: 'string', short: 'n' }, since: { type: 'string' } },
    });
    const service = positionals[0];
    if (!service) throw new SlipwayError('invalid', 'USAGE', 'logs takes a service name', { hint: this.usage });
    // With --since, every line since then unless -n says otherwise (as kubectl logs --since).
    const lines = Number(values.lines ?? (values.since !== undefined ? 1_000_000 : 100));
    if (!Number.isInteger(lines) || lines < 0) throw new SlipwayError('invalid', 'USAGE', `--lines ${values.lines} is not a count of lines`, { hint: this.usage });
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    try {
      await ControllerClient.connect(dir).logs(service, { lines, follow: !!values.follow, since: values.since, signal: abort.signal }, (l) => {
        // --json: one JSON object per line (instance, release, stream, at, line). Text: capture time, instance, line.
        out.out(json ? JSON.stringify(l) : `${out.paint('dim', `${l.at ?? '-'.padEnd(27)} ${l.instance} |`)} ${l.line}`);
      });
    } catch (err) {
      if (abort.signal.aborted) return 0;
      throw err;
    }
    return 0;
  },
};
