import { projectPaths } from '../../controller/paths.js';
import { restoreState } from '../../controller/state-restore.js';
import type { CliCommand } from '../context.js';

export const stateRestore: CliCommand<{ from?: string }> = {
  name: 'state restore',
  summary: 'Puts a backup of the state database back (no controller may run); the data plane keeps serving',
  declare(cmd) {
    cmd.option('--from <file>', 'the backup to restore (default: the newest, see `slipway state list`)');
  },
  examples: ['slipway state restore', 'slipway state restore --from .slipway/backups/state-20261129T160000Z-web-3.db --json'],
  async run({ dir, out, json }, _args, flags) {
    const r = await restoreState(projectPaths(dir), { from: flags.from });
    if (json) {
      out.out(JSON.stringify(r, null, 2));
      return 0;
    }
    out.out(`restored ${r.from}`);
    if (r.keptAside) out.out(`the database it replaced is kept as ${r.keptAside}`);
    for (const s of r.services) out.out(`  ${s.service}: release ${s.current ?? '-'} current`);
    out.out('next: slipway up (adopts the running instances and the router)');
    return 0;
  },
};
