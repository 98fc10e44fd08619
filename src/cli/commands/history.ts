import { parseArgs } from 'node:util';
import { ControllerClient } from '../../client/client.js';
import { SlipwayError } from '../../core/errors.js';
import type { Command } from '../context.js';
import { ago, formatNumbers, table } from '../output.js';

export const history: Command = {
  name: 'history',
  summary: 'Releases and rollouts of a service, newest first',
  usage: 'slipway history SERVICE [--limit N] [--json]',
  async run({ dir, out, json, args }) {
    const { values, positionals } = parseArgs({ args, options: { limit: { type: 'string', default: '20' } }, allowPositionals: true });
    const service = positionals[0];
    if (!service) throw new SlipwayError('invalid', 'USAGE', 'history takes a service name', { hint: this.usage });
    const res = await ControllerClient.connect(dir).history(service, Number(values.limit));
    if (json) { out.out(JSON.stringify(res, null, 2)); return 0; }
    out.out(out.paint('bold', `${service}: releases`));
    out.out(table([
      ['', 'RELEASE', 'OUTCOME', 'DIGEST', 'CREATED', 'BY', 'MESSAGE'],
      ...res.releases.map((r) => [r.current ? '*' : '', String(r.number), r.pruned ? `${r.outcome} (pruned)` : r.outcome, r.digest.slice(7, 19), ago(r.createdAt), r.createdBy, r.message]),
    ]));
    out.out('');
    out.out(out.paint('bold', 'rollouts'));
    out.out(table([
      ['#', 'KIND', 'FROM→TO', 'PHASE', 'REASON', 'STARTED', 'MESSAGE'],
      ...res.rollouts.map((r) => [String(r.id), r.kind, `${r.fromRelease ?? '-'}→${r.toRelease}`, r.phase, r.reason, ago(r.startedAt), r.message.split('\n')[0] ?? '']),
    ]));
    // The judgements behind rollbacks, with their numbers.
    for (const r of res.rollouts) {
      for (const a of r.analysis.filter((x) => x.phase === 'Failed' || x.phase === 'Error' || x.phase === 'Inconclusive')) {
        const numbers = a.last ? formatNumbers(a.last.numbers) : '';
        out.out(`  #${r.id} ${a.key}: ${a.phase} — ${a.reason}${numbers ? ` [${numbers}]` : ''}`);
      }
    }
    return 0;
  },
};
