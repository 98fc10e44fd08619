import { projectPaths } from '../../controller/paths.js';
import { backups } from '../../controller/state-restore.js';
import type { CliCommand } from '../context.js';
import { table } from '../output.js';
import { ago } from '../render/format.js';

export const stateList: CliCommand = {
  name: 'state list',
  summary: "The state database's backups, newest first (one is taken after every finished rollout)",
  declare() {
    /* no arguments */
  },
  examples: ['slipway state list', 'slipway state list --json'],
  async run({ dir, out, json }) {
    const paths = projectPaths(dir);
    const list = backups(paths);
    if (json) {
      out.out(JSON.stringify({ backups: list }, null, 2));
      return 0;
    }
    if (!list.length) {
      out.out(`no backups in ${paths.backups} (one is taken after every finished rollout)`);
      return 0;
    }
    out.out(table([['FILE', 'TAKEN', 'SIZE'], ...list.map((b) => [b.file, ago(b.takenAt), `${Math.ceil(b.bytes / 1024)} KiB`])]));
    return 0;
  },
};
