/**
 * Zero-downtime benchmark: failed requests while a 2-instance service rolls to a new release under
 * steady load, Slipway (`deploy web --wait`) side by side with PM2 cluster mode (`pm2 reload`).
 *
 * Fairness: both run the same app (bench/fixtures/app/server.cjs, a plain node:http server that on
 * SIGTERM stops accepting, closes idle keep-alive connections and exits once in-flight requests
 * are done: what typical apps do), both change one env var (RELEASE) per update, both get the same
 * load (8 keep-alive loops from a separate process, loopback only) for 1 s before the update, during
 * it and 1 s after. PM2 runs with its defaults: reload sends SIGINT (kill_timeout 1.6 s), which that
 * app does not handle, so it exits at once. A third row gives PM2 its best case with the same
 * code: GRACEFUL_SIGNALS=SIGTERM,SIGINT makes the app drain on SIGINT too.
 * Slipway: rolling update (maxSurge 1, maxUnavailable 0), health probe every 250 ms, stopTimeout 10 s.
 *
 * Each tool is set up once, then updated RUNS times; update time is the wall time of the CLI command
 * (CLI start-up included); for Slipway also the rollout alone (rollout.startedAt → finishedAt).
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLoad, type LoadReport } from './support/load.js';
import { Pm2Sandbox } from './support/pm2.js';
import { Cleanup, freePort, killProcessesUnder, makeTempDir, removeDir, ROOT, sleep, waitFor } from './support/proc.js';
import { SlipwayProject } from './support/slipway-project.js';
import { fmtMs, formatTable, max, median } from './support/stats.js';

const APP = join(ROOT, 'bench/fixtures/app/server.cjs');
const RUNS = 3;
const CONCURRENCY = 8;
const WARM_MS = 1000;
const COOL_MS = 1000;

interface RunResult {
  sent: number;
  failed: number;
  reasons: Record<string, number>;
  /** Wall time of the update command. */
  updateMs: number;
  /** Slipway only: rollout startedAt → finishedAt from the controller. */
  rolloutMs?: number;
  bodies: Record<string, number>;
  failures: LoadReport['failures'];
  updateStartedAt: number;
}

interface ToolResult {
  tool: string;
  runs: RunResult[];
  note: string;
}

async function probe(url: string): Promise<string> {
  const res = await fetch(url, { headers: { connection: 'close' } });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url} → ${res.status}`);
  return body;
}

/** Steady load for WARM_MS, then `update()`, then COOL_MS more; returns the counts. */
async function underLoad(cleanup: Cleanup, url: string, update: () => Promise<{ ms: number; rolloutMs?: number }>): Promise<RunResult> {
  const load = await startLoad({ url, concurrency: CONCURRENCY, maxMs: 60_000, classify: 'release=\\S+' });
  cleanup.add('load generator', () => load.kill());
  await waitFor('load to start', () => load.progress.sent > 0, 10_000, 20);
  await sleep(WARM_MS);
  const updateStartedAt = Date.now();
  const u = await update();
  await sleep(COOL_MS);
  const r = await load.stop();
  return {
    sent: r.sent,
    failed: r.failed,
    reasons: r.reasons,
    bodies: r.bodies,
    failures: r.failures,
    updateMs: u.ms,
    rolloutMs: u.rolloutMs,
    updateStartedAt,
  };
}

function describeRun(tool: string, i: number, r: RunResult): string {
  const reasons = Object.entries(r.reasons)
    .map(([k, v]) => `${k}×${v}`)
    .join(', ');
  const served = Object.entries(r.bodies)
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');
  return (
    `  ${tool} run ${i}: ${r.sent} requests, ${r.failed} failed${reasons ? ` (${reasons})` : ''}, update ${fmtMs(r.updateMs)}` +
    `${r.rolloutMs !== undefined ? ` (rollout ${fmtMs(r.rolloutMs)})` : ''}; served ${served}`
  );
}

/** `haproxy`: the same rollout with HAProxy in front, driven by Slipway over its Runtime API (ADR 0021). */
async function benchSlipway(cleanup: Cleanup, haproxy = false): Promise<ToolResult> {
  const tool = haproxy ? 'Slipway + HAProxy' : 'Slipway';
  const p = await SlipwayProject.create([APP]);
  cleanup.add('slipway project', () => p.dispose());
  const config = (release: string) =>
    p.writeConfig({
      instances: 2,
      start: 'node server.cjs',
      env: { RELEASE: release },
      health: '{ path: /healthz, interval: 250ms, timeout: 1s, healthyAfter: 1, unhealthyAfter: 2 }',
      stopTimeout: '10s',
      ...(haproxy ? { loadBalancer: '{ haproxy: { healthPath: /healthz, checkInterval: 250ms } }' } : {}),
    });
  console.log(`${tool}: up (2 instances, ${p.url}, project ${p.dir})`);
  config('r1');
  await p.mustCli(['up'], 120_000);
  await waitFor('Slipway to serve r1', async () => (await probe(p.url)).includes('release=r1'), 15_000);

  const runs: RunResult[] = [];
  for (let i = 1; i <= RUNS; i++) {
    const release = `r${i + 1}`;
    config(release);
    const r = await underLoad(cleanup, p.url, async () => {
      const d = await p.cli(['deploy', 'web', '--wait', '--json', '--message', `bench ${release}`], 120_000);
      if (d.code !== 0) throw new Error(`slipway deploy exited ${d.code}\n${d.stdout}\n${d.stderr}`);
      const out = JSON.parse(d.stdout) as { rollout?: { phase: string; startedAt: number; finishedAt: number | null } };
      const ro = out.rollout;
      if (!ro || ro.phase !== 'Healthy' || ro.finishedAt === null) throw new Error(`rollout did not finish Healthy: ${d.stdout}`);
      return { ms: d.ms, rolloutMs: ro.finishedAt - ro.startedAt };
    });
    console.log(describeRun(tool, i, r));
    if (r.failed > 0) await explainSlipwayFailures(p, r);
    await checkOldInstancesGone(p, i + 1);
    if (!(await probe(p.url)).includes(`release=${release}`)) throw new Error(`Slipway does not serve ${release} after the deploy`);
    runs.push(r);
  }
  await p.dispose();
  return { tool, runs, note: `rolling, surge 1, drain before SIGTERM; probe 250 ms${haproxy ? '; HAProxy weights/drain/del server' : ''}` };
}

/** Old instances should be drained and stopped by now; say so if some still run (they would be a leak). */
async function checkOldInstancesGone(p: SlipwayProject, release: number): Promise<void> {
  type Inst = { id: string; release: number; retiring: boolean; pid: number | null };
  let left: Inst[] = [];
  try {
    await waitFor(
      'old instances to stop',
      async () => {
        const s = JSON.parse((await p.mustCli(['status', '--json'])).stdout) as { services: { instances: Inst[] }[] };
        left = s.services[0]?.instances.filter((x) => x.release !== release) ?? [];
        return left.length === 0;
      },
      5000,
      250,
    );
  } catch {
    console.log(
      `    WARNING: 5 s after the rollout, ${left.length} instance(s) of older releases still run: ${left.map((x) => `${x.id}${x.retiring ? ' (retiring)' : ''} pid ${x.pid}`).join(', ')}`,
    );
  }
}

/** A failed request under Slipway is a bug: print when it happened against the rollout's own events. */
async function explainSlipwayFailures(p: SlipwayProject, r: RunResult): Promise<void> {
  console.log(
    `    failures, ms after the deploy command started: ${r.failures
      .slice(0, 20)
      .map((f) => `${f.at - r.updateStartedAt}:${f.reason}`)
      .join(' ')}`,
  );
  const h = await p.cli(['history', 'web', '--json']);
  console.log(`    history --json (first 1500 chars): ${h.stdout.slice(0, 1500)}`);
}

async function benchPm2(cleanup: Cleanup, signals: string): Promise<ToolResult> {
  const graceful = signals.includes('SIGINT');
  const tool = graceful ? 'PM2 (app drains on SIGINT too)' : 'PM2';
  // Registered first so it runs last: after `pm2 kill`, nothing may still run in the app dir.
  const appDir = makeTempDir('pm2-bench-app-');
  const removeAppDir = async () => {
    const left = await killProcessesUnder(appDir);
    if (left.length) console.error(`WARNING: ${left.length} process(es) outlived \`pm2 kill\`, killed: ${left.join('; ')}`);
    removeDir(appDir);
  };
  cleanup.add('pm2 app dir', removeAppDir);
  const pm2 = new Pm2Sandbox();
  cleanup.add(`pm2 sandbox ${pm2.home}`, () => pm2.dispose());
  copyFileSync(APP, join(appDir, 'server.cjs'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  console.log(`${tool}: start -i 2 (cluster mode, ${url}, GRACEFUL_SIGNALS=${signals}, PM2_HOME ${pm2.home})`);
  await pm2.mustPm2(['start', 'server.cjs', '-i', '2', '--name', 'web'], {
    cwd: appDir,
    env: { PORT: String(port), RELEASE: 'r1', GRACEFUL_SIGNALS: signals },
  });
  await waitFor(
    '2 PM2 workers online',
    async () => (await pm2.list()).filter((x) => x.pm2_env.status === 'online').length === 2,
    20_000,
    200,
  );
  await waitFor('PM2 to serve r1', async () => (await probe(url)).includes('release=r1'), 15_000);

  const runs: RunResult[] = [];
  for (let i = 1; i <= RUNS; i++) {
    const release = `r${i + 1}`;
    const before = (await pm2.list()).map((x) => x.pid);
    const r = await underLoad(cleanup, url, async () => {
      const d = await pm2.mustPm2(['reload', 'web', '--update-env'], {
        cwd: appDir,
        env: { PORT: String(port), RELEASE: release, GRACEFUL_SIGNALS: signals },
        timeoutMs: 60_000,
      });
      return { ms: d.ms };
    });
    console.log(describeRun(tool, i, r));
    const after = await pm2.list();
    if (after.length !== 2 || after.some((x) => before.includes(x.pid) || x.pm2_env.status !== 'online'))
      throw new Error(`pm2 reload did not replace both workers: ${JSON.stringify(after.map((x) => [x.pid, x.pm2_env.status]))}`);
    if (!(await probe(url)).includes(`release=${release}`)) throw new Error(`PM2 does not serve ${release} after the reload`);
    runs.push(r);
  }
  await pm2.dispose();
  await removeAppDir();
  return {
    tool,
    runs,
    note: graceful ? 'same app, GRACEFUL_SIGNALS=SIGTERM,SIGINT' : 'defaults: reload sends SIGINT; app drains on SIGTERM only',
  };
}

function printTable(results: ToolResult[]): void {
  const rows = [['tool', 'runs', 'median requests', 'median failed', 'max failed', 'median update', 'median rollout', 'notes']];
  for (const t of results) {
    const rollouts = t.runs.flatMap((r) => (r.rolloutMs === undefined ? [] : [r.rolloutMs]));
    rows.push([
      t.tool,
      String(t.runs.length),
      String(median(t.runs.map((r) => r.sent))),
      String(median(t.runs.map((r) => r.failed))),
      String(max(t.runs.map((r) => r.failed))),
      fmtMs(median(t.runs.map((r) => r.updateMs))),
      rollouts.length ? fmtMs(median(rollouts)) : '-',
      t.note,
    ]);
  }
  console.log(`\n${formatTable(rows)}`);
  const total = (t: ToolResult | undefined) =>
    t ? { failed: t.runs.reduce((n, r) => n + r.failed, 0), sent: t.runs.reduce((n, r) => n + r.sent, 0) } : null;
  const s = total(results.find((t) => t.tool === 'Slipway'));
  const p = total(results.find((t) => t.tool === 'PM2'));
  if (s && p) {
    const pct = (x: { failed: number; sent: number }) => `${((100 * x.failed) / x.sent).toFixed(3)}%`;
    const ratio =
      s.failed === 0
        ? p.failed === 0
          ? 'both zero'
          : `PM2 fails ${p.failed}, Slipway none`
        : `PM2/Slipway = ${(p.failed / s.failed).toFixed(1)}×`;
    console.log(
      `\nFailed requests over ${RUNS} updates: Slipway ${s.failed} of ${s.sent} (${pct(s)}) vs PM2 ${p.failed} of ${p.sent} (${pct(p)}): ${ratio}.`,
    );
  }
}

export async function run(): Promise<void> {
  const cleanup = new Cleanup();
  cleanup.arm();
  const results: ToolResult[] = [];
  const began = Date.now();
  console.log(
    `zero-downtime: ${RUNS} updates per tool, ${CONCURRENCY} keep-alive loops, ${WARM_MS} ms before and ${COOL_MS} ms after each update`,
  );
  console.log('app: bench/fixtures/app/server.cjs (node:http; on SIGTERM: server.close() + closeIdleConnections(), exit when done)');
  try {
    results.push(await benchSlipway(cleanup));
    results.push(await benchSlipway(cleanup, true));
    results.push(await benchPm2(cleanup, 'SIGTERM'));
    results.push(await benchPm2(cleanup, 'SIGTERM,SIGINT'));
  } finally {
    await cleanup.run();
  }
  printTable(results);
  console.log(`(bench took ${fmtMs(Date.now() - began)})`);
}
