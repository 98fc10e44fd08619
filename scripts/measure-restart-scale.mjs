// Restart and scale of a 2- and a 6-instance service under the e2e load helper (loopback only):
// CLI wall time and requests ok/failed. After `npm run build`: node scripts/measure-restart-scale.mjs
import { TestProject } from '../dist/test/support/project.js';
import { startLoad } from '../dist/test/support/load.js';
for (const n of [2, 6]) {
  const p = new TestProject();
  try {
    await p.writeConfig({ instances: n });
    const up = await p.cli(['up']);
    if (up.code) throw new Error(up.stderr);
    for (const [label, args] of [
      ['restart', ['restart', 'web']],
      ['scale x2', ['scale', 'web', String(2 * n)]],
      ['scale back', ['scale', 'web', String(n)]],
    ]) {
      const load = startLoad(p.url);
      const t = Date.now();
      const r = await p.cli(args);
      const ms = Date.now() - t;
      const res = await load.stop();
      console.log(`instances=${n} ${label}: exit ${r.code}, ${ms} ms, ${res.ok} ok, ${res.failed} failed`);
    }
  } finally {
    await p.cleanup();
  }
}
