/**
 * The web dashboard's first load on loopback (issue 9's goal: under one second): a real controller
 * with one service of 2 instances, Debian's Chromium (headless, via playwright-core), and the time
 * from asking for the page to the services table being visible with the service in it. Cold: a
 * fresh browser profile each time (no cached asset, the token from `slipway dashboard`'s link);
 * warm: a reload of the same tab (hashed assets come from the cache, the page is revalidated).
 * Also the size of what is downloaded (the built files, raw and gzipped as the controller sends them).
 *
 * Run: `npm run bench -- dashboard` (the machine's load average is printed: quote it with the numbers).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SlipwayProject } from './support/slipway-project.js';
import { ROOT } from './support/proc.js';
import { formatTable, median } from './support/stats.js';
import { browserMissing, launchChromium } from '../test/support/browser.js';

const APP = join(ROOT, 'bench/fixtures/app/server.cjs');
const RUNS = 7;

export async function run(): Promise<void> {
  const missing = browserMissing();
  if (missing) {
    console.log(`skipped: ${missing}`);
    return;
  }
  bundle();
  const p = await SlipwayProject.create([APP], 'slipway-bench-dashboard-');
  const browser = await launchChromium();
  try {
    p.writeConfig({ instances: 2, start: 'node server.cjs' });
    await p.mustCli(['up']);
    const link = (await p.mustCli(['dashboard', '--role', 'viewer', '--expires', '1h'])).stdout.trim();
    const cold: number[] = [];
    const warm: number[] = [];
    const parts: number[][] = [];
    const rows = [['run', 'cold ms', 'page+JS ms', 'whoami ms', 'status ms', 'warm ms', 'load average']];
    for (let i = 0; i <= RUNS; i++) {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await ctx.newPage();
      const table = page.getByTestId('service-web');
      let t0 = performance.now();
      await page.goto(link, { waitUntil: 'commit' });
      await table.waitFor({ state: 'visible', timeout: 30_000 });
      const c = performance.now() - t0;
      // Where the cold load's time went, from the browser's own clock (ms since navigation start).
      const at = (await page.evaluate(`(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const end = (re) => performance.getEntriesByType('resource').find((e) => re.test(e.name))?.responseEnd ?? NaN;
        return [nav.domContentLoadedEventEnd, end(/\\/v1\\/whoami$/), end(/\\/v1\\/status/)];
      })()`)) as number[];
      t0 = performance.now();
      await page.reload({ waitUntil: 'commit' });
      await table.waitFor({ state: 'visible', timeout: 30_000 });
      const w = performance.now() - t0;
      await ctx.close();
      // The first run warms the controller and Chromium's own start-up: not counted.
      if (i === 0) continue;
      cold.push(c);
      warm.push(w);
      parts.push(at);
      rows.push([String(i), c.toFixed(0), ...at.map((x) => x.toFixed(0)), w.toFixed(0), loadavg()[0]!.toFixed(2)]);
    }
    console.log(formatTable(rows));
    console.log(
      `\ndashboard first load on loopback (to the services table visible), median of ${RUNS}: cold ${median(cold).toFixed(0)} ms (goal < 1000), warm ${median(warm).toFixed(0)} ms`,
    );
    const m = (k: number) => median(parts.map((x) => x[k]!)).toFixed(0);
    console.log(
      `cold, medians from navigation start: page and script run ${m(0)} ms, /v1/whoami answered ${m(1)} ms, /v1/status answered ${m(2)} ms`,
    );
  } finally {
    await browser.close();
    await p.dispose();
  }
}

/** What the browser downloads: the page and its assets, raw and gzipped. */
function bundle(): void {
  const dir = join(ROOT, 'dist/ui');
  const files = ['index.html', ...readdirSync(join(dir, 'assets')).map((f) => `assets/${f}`)];
  const rows = [['file', 'bytes', 'gzipped']];
  let raw = 0;
  let zipped = 0;
  for (const f of files) {
    const body = readFileSync(join(dir, f));
    const gz = gzipSync(body).length;
    raw += body.length;
    zipped += gz;
    rows.push([f.replace(/-[A-Za-z0-9_-]{8}\./, '-HASH.'), String(body.length), String(gz)]);
  }
  rows.push(['total', String(raw), String(zipped)]);
  console.log(formatTable(rows));
}
