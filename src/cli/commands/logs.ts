import { parseArgs } from 'node:util';
import { ControllerClient } from '../../client/client.js';
import { SlipwayError } from '../../core/errors.js';
import type { Command } from '../context.js';

export const logs: Command = {
  name: 'logs',
  summary: "Print a service's instance logs; -f follows them across rollouts",
  usage: 'slipway logs SERVICE [-f|--follow] [-n|--lines N] [--json]',
  async run({ dir, out, json, args }) {
    const { values, positionals } = parseArgs({ args, options: { follow: { type: 'boolean', short: 'f' }, lines: { type: 'string', short: 'n', default: '100' } }, allowPositionals: true });
    const service = positionals[0];
    if (!service) throw new SlipwayError('invalid', 'USAGE', 'logs takes a service name', { hint: this.usage });
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    try {
      await ControllerClient.connect(dir).logs(service, { lines: Number(values.lines), follow: !!values.follow, signal: abort.signal }, (l) => {
        // --json: one JSON object per line (instance, release, stream, line).
        out.out(json ? JSON.stringify(l) : `${out.paint('dim', `${l.instance} |`)} ${l.line}`);
      });
    } catch (err) {
      if (abort.signal.aborted) return 0;
      throw err;
    }
    return 0;
  },
};
