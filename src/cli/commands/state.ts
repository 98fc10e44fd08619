import { parseArgs } from 'node:util';
import { projectPaths } from '../../controller/paths.js';
import { backups, restoreState } from '../../controller/state-restore.js';
import { SlipwayError } from '../../core/errors.js';
import type { Command } from '../context.js';
import { ago, table } from '../output.js';

export const state: Command = {
  name: 'state',
  summary: 'List the backups of the state database, or restore one (no controller may run)',
  usage: 'slipway state list [--json] | slipway state restore [--from FILE] [--json]',
  async run({ dir, out, json, args }) {
    const { values, positionals } = parseArgs({ args, options: { from: { type: 'string' } }, allowPositionals: true });
    const paths = projectPaths(dir);
    if (positionals[0] === 'list' && positionals.length === 1) {
      const list = backups(paths);
      if (json) { out.out(JSON.stringify({ backups: list }, null, 2)); return 0; }
      if (!list.length) { out.out(`no backups in ${paths.backups} (one is taken after every finished rollout)`); return 0; }
      out.out(table([['FILE', 'TAKEN', 'SIZE'], ...list.map((b) => [b.file, ago(b.takenAt), `${Math.ceil(b.bytes / 1024)} KiB`])]));
      return 0;
    }
    if (positionals[0] === 'restore' && positionals.length === 1) {
      const r = await restoreState(paths, { from: values.from });
      if (json) { out.out(JSON.stringify(r, null, 2)); return 0; }
      out.out(`restored ${r.from}`);
      if (r.keptAside) out.out(`the database it replaced is kept as ${r.keptAside}`);
      for (const s of r.services) out.out(`  ${s.service}: release ${s.current ?? '-'} current`);
      out.out('next: slipway up (adopts the running instances and the router)');
      return 0;
    }
    throw new SlipwayError('invalid', 'USAGE', `unknown state command: ${positionals.join(' ') || '(none)'}`, { hint: this.usage });
  },
};
