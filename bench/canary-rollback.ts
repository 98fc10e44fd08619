/**
 * Canary rollback benchmark: how fast Slipway takes a bad canary out of traffic, and how many user
 * requests it answered meanwhile, measured from the client side.
 *
 * Setup: one temp project, service "web" (bench/fixtures/canary-app/server.cjs, which names its
 * VERSION in every answer), 2 instances of v1, canary strategy
 * `[ { weight: 20 }, { pause: 60s }, { weight: 100 } ]` with the background check `errors`
 * (router error_rate, max 1%, interval 1 s, minRequests 20; default hard-failure fast path:
 * ≥ 10 requests in the last 2 s with ≥ 50% 5xx, polled every 250 ms), health probe every 250 ms.
 * Steady load from a separate process: RATE req/s, paced, every answer recorded (time, status,
 * version). Each run deploys a new bad release (FAIL_RATE=1: every `/` answers 500, /healthz 200)
 * with `deploy web --wait` and expects it rolled back, v1 staying the stable release.
 *
 * Per run, client side:
 *  - time to rollback: first answer from the canary → last answer from the canary (after it,
 *    every answer came from v1);
 *  - blast radius: answers from the canary in that time (and how many of them were errors);
 *  - first canary answer → `deploy --wait` exited (it waits for the canary to be drained and stopped);
 *  - failures not from the canary (must be 0).
 * Server side, for the record: the controller's events (canary routed, hard failure, route back,
 * rolled back) on the same clock, relative to the first canary answer.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControllerClient } from '../src/client/client.js';
import type { EventRecord } from '../src/store/types.js';
import { startLoad, type LoadRecord } from './support/load.js';
import { Cleanup, ROOT, sleep, waitFor } from './support/proc.js';
import { SlipwayProject } from './support/slipway-project.js';
import { fmtMs, formatTable, max, median } from './support/stats.js';

const APP = join(ROOT, 'bench/fixtures/canary-app/server.cjs');
const RUNS = 5;
const RATE = 200;
const CONCURRENCY = 16;
const CANARY_WEIGHT = 20;
const WARM_MS = 1000;
const COOL_MS = 1000;
const GOAL_MS = 2000;
/** No new run starts after this much bench time (the whole bench should stay under ~3 minutes). */
const BUDGET_MS = 150_000;
const STABLE = 'v1';

const STRATEGY = `{ canary: { steps: [ { weight: ${CANARY_WEIGHT} }, { pause: 60s }, { weight: 100 } ], analysis: [errors] } }`;
const ANALYSIS = '{ errors: { metric: error_rate, max: 0.01, interval: 1s, minRequests: 20 } }';

/** What each peer documents (stated from their docs, not measured here), in seconds (null: never). */
const PEERS: { name: string; seconds: [number, number] | null; time: string; note: string }[] = [
  {
    name: 'Flagger (docs example)',
    seconds: [300, 300],
    time: '≈ 5 min',
    note: 'rolled back after interval × threshold failed checks: 1 min × 5; minimum interval 10 s',
  },
  {
    name: 'Argo Rollouts (docs canary analysis example)',
    seconds: [900, 1200],
    time: '~15–20 min',
    note: 'time of its documented canary analysis example',
  },
  { name: 'Spinnaker / Kayenta', seconds: [3000, 3000], time: '50+ min', note: 'time of its documented canary analysis' },
  {
    name: 'Kubernetes Deployment',
    seconds: null,
    time: 'never',
    note: 'does not roll back by itself (progressDeadline only marks it failed)',
  },
];

interface Timeline {
  canaryRouted?: number;
  hardFail?: number;
  firstFail?: number;
  routeBack?: number;
  finished?: number;
}

interface RunResult {
  run: number;
  version: string;
  release: number;
  rolloutId: number;
  exitCode: number;
  phase: string;
  reason: string;
  sent: number;
  stableAnswers: number;
  /** Epoch ms of the canary's first and last answers (NaN: the canary answered nobody). */
  firstCanaryAt: number;
  lastCanaryAt: number;
  rollbackMs: number;
  blast: number;
  blastFailed: number;
  /** First canary answer → `deploy --wait` exited. */
  deployExitMs: number;
  deployWallMs: number;
  /** Failed requests not answered by the canary, by reason. */
  otherFailed: number;
  otherReasons: Record<string, number>;
  /** Answers naming neither v1 nor this run's canary. */
  strangers: Record<string, number>;
  /** Server-side times relative to firstCanaryAt. */
  server: Timeline;
  controllerLog: string[];
  odd: string[];
}

async function probe(url: string): Promise<string> {
  const res = await fetch(url, { headers: { connection: 'close' }, signal: AbortSignal.timeout(5000) });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url} → ${res.status}`);
  return body;
}

type Inst = { id: string; release: number; retiring: boolean; healthy: boolean };
interface Status {
  services: { currentRelease: number | null; instances: Inst[] }[];
}

/** Waits until only the stable release runs, on 2 healthy instances, and answers with v1. */
async function waitStable(p: SlipwayProject, stableRelease: number): Promise<void> {
  let last: Inst[] = [];
  await waitFor(
    `only release ${stableRelease} to run (last seen: ${JSON.stringify(last)})`,
    async () => {
      const s = JSON.parse((await p.mustCli(['status', '--json'])).stdout) as Status;
      const svc = s.services[0];
      last = svc?.instances ?? [];
      return (
        svc?.currentRelease === stableRelease &&
        last.length === 2 &&
        last.every((i) => i.release === stableRelease && i.healthy && !i.retiring)
      );
    },
    15_000,
    200,
  );
  if (!(await probe(p.url)).includes(`version=${STABLE} `)) throw new Error(`Slipway does not serve ${STABLE}`);
}

/** Every event of web after event id `after`. */
function eventsAfter(client: ControllerClient, after: number): Promise<EventRecord[]> {
  return client.eventsAfter({ service: 'web', after });
}

async function lastEventId(client: ControllerClient): Promise<number> {
  return (await eventsAfter(client, 0)).reduce((m, e) => Math.max(m, e.id), 0);
}

/** Server-side milestones of the rollout from its events, as epoch ms. */
function timelineOf(events: EventRecord[], rolloutId: number, release: number): Timeline {
  const t: Timeline = {};
  type Pool = { release: number; ids: string[] };
  for (const e of events) {
    if (e.type === 'traffic.shifted') {
      const pools = (e.data.pools ?? []) as Pool[];
      const canaryIn = pools.some((x) => x.release === release && x.ids.length > 0);
      if (canaryIn && t.canaryRouted === undefined) t.canaryRouted = e.at;
      if (!canaryIn && t.canaryRouted !== undefined && t.routeBack === undefined) t.routeBack = e.at;
    }
    if (e.rolloutId !== rolloutId) continue;
    if (e.type === 'analysis.measurement' && e.data.verdict === 'fail') {
      t.firstFail ??= e.at;
      if (e.data.hard === true) t.hardFail ??= e.at;
    }
    if (e.type === 'rollout.rolledback' || e.type === 'rollout.failed' || e.type === 'rollout.healthy') t.finished ??= e.at;
  }
  return t;
}

/** The controller's log lines about this rollout, plus probe failures, as logged. */
function controllerLines(p: SlipwayProject, rolloutId: number, since: number): string[] {
  const file = join(p.dir, '.slipway/controller.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => {
      const at = Date.parse(l.slice(0, 24));
      return (
        Number.isFinite(at) &&
        at >= since - 1000 &&
        (l.includes(`rollout #${rolloutId}`) || l.includes('probe failed') || l.includes('retire ') || l.includes('reconcile '))
      );
    });
}

function isOk(status: number): boolean {
  return status >= 200 && status < 300;
}

function reasonOf(r: LoadRecord): string {
  return r.status === 0 ? 'socket error/timeout' : `HTTP ${r.status}`;
}

async function oneRun(
  p: SlipwayProject,
  client: ControllerClient,
  cleanup: Cleanup,
  run: number,
  stableRelease: number,
): Promise<RunResult> {
  const version = `v2-bad${run}`;
  await waitStable(p, stableRelease);
  p.writeConfig({
    instances: 2,
    start: 'node server.cjs',
    env: { VERSION: version, FAIL_RATE: '1' },
    health: '{ path: /healthz, interval: 250ms }',
    stopTimeout: '5s',
    strategy: STRATEGY,
    analysis: ANALYSIS,
  });
  const after = await lastEventId(client);
  const load = await startLoad({
    url: p.url,
    concurrency: CONCURRENCY,
    ratePerSec: RATE,
    recordLimit: 100_000,
    maxMs: 60_000,
    classify: 'version=\\S+',
  });
  cleanup.add('load generator', () => load.kill());
  let deployAt: number;
  let exitAt = 0;
  let d: Awaited<ReturnType<SlipwayProject['cli']>>;
  try {
    await waitFor('load to start', () => load.progress.sent > 0, 10_000, 20);
    await sleep(WARM_MS);
    deployAt = Date.now();
    d = await p.cli(['deploy', 'web', '--wait', '--json', '--message', `bench bad canary ${version}`], 90_000);
    exitAt = Date.now();
    await sleep(COOL_MS);
  } finally {
    // Stops (and on error, kills) the load before anything else happens.
    if (!exitAt) load.kill();
  }
  const report = await load.stop();
  load.kill();

  let out: { release: number; rolloutId: number; rollout?: { phase: string; reason: string; message: string } };
  try {
    out = JSON.parse(d.stdout) as typeof out;
  } catch {
    throw new Error(`deploy --wait printed no JSON (exit ${d.code})\n${d.stdout}\n${d.stderr}`);
  }
  const canaryKey = `version=${version}`;
  const stableKey = `version=${STABLE}`;
  const records = report.records ?? [];
  const canary = records.filter((r) => r.key === canaryKey);
  const others = records.filter((r) => r.key !== canaryKey);
  const otherFails = others.filter((r) => !isOk(r.status));
  const otherReasons: Record<string, number> = {};
  for (const r of otherFails) otherReasons[reasonOf(r)] = (otherReasons[reasonOf(r)] ?? 0) + 1;
  const strangers: Record<string, number> = {};
  for (const r of others)
    if (r.key !== stableKey && r.status !== 0) strangers[r.key || '(no version)'] = (strangers[r.key || '(no version)'] ?? 0) + 1;
  const firstCanaryAt = canary.length ? Math.min(...canary.map((r) => r.at)) : NaN;
  const lastCanaryAt = canary.length ? Math.max(...canary.map((r) => r.at)) : NaN;

  const events = await eventsAfter(client, after);
  const t = timelineOf(events, out.rolloutId, out.release);
  const rel = (x: number | undefined) => (x === undefined ? undefined : x - firstCanaryAt);
  const r: RunResult = {
    run,
    version,
    release: out.release,
    rolloutId: out.rolloutId,
    exitCode: d.code,
    phase: out.rollout?.phase ?? '?',
    reason: out.rollout?.reason ?? '?',
    sent: report.sent,
    stableAnswers: others.filter((x) => x.key === stableKey).length,
    firstCanaryAt,
    lastCanaryAt,
    rollbackMs: lastCanaryAt - firstCanaryAt,
    blast: canary.length,
    blastFailed: canary.filter((x) => !isOk(x.status)).length,
    deployExitMs: exitAt - firstCanaryAt,
    deployWallMs: exitAt - deployAt,
    otherFailed: otherFails.length,
    otherReasons,
    strangers,
    server: {
      canaryRouted: rel(t.canaryRouted),
      hardFail: rel(t.hardFail),
      firstFail: rel(t.firstFail),
      routeBack: rel(t.routeBack),
      finished: rel(t.finished),
    },
    controllerLog: controllerLines(p, out.rolloutId, deployAt),
    odd: [],
  };
  if (d.code !== 1) r.odd.push(`deploy --wait exited ${d.code}, expected 1`);
  if (r.phase !== 'RolledBack') r.odd.push(`rollout ended ${r.phase} (${r.reason}), expected RolledBack`);
  if (canary.length === 0) r.odd.push('the canary answered no request at all');
  if (r.otherFailed > 0) r.odd.push(`${r.otherFailed} failed request(s) not from the canary: ${JSON.stringify(otherReasons)}`);
  if (Object.keys(strangers).length) r.odd.push(`answers from neither ${STABLE} nor the canary: ${JSON.stringify(strangers)}`);
  if ((report.recordsDropped ?? 0) > 0) r.odd.push(`${report.recordsDropped} request(s) not recorded (record limit)`);
  if (r.rollbackMs >= GOAL_MS) r.odd.push(`time to rollback ${fmtMs(r.rollbackMs)} is over the ${fmtMs(GOAL_MS)} goal`);
  if (t.hardFail === undefined) r.odd.push("no hard-failure (fast path) verdict among the rollout's events");
  const late = canary.filter((x) => t.routeBack !== undefined && x.sentAt > t.routeBack);
  if (late.length)
    r.odd.push(
      `${late.length} canary answer(s) to requests sent after the route back (${t.routeBack}); last sent ${Math.max(...late.map((x) => x.sentAt))}`,
    );
  const achieved = report.sent / ((report.finishedAt - report.startedAt) / 1000);
  if (achieved < RATE * 0.8) r.odd.push(`the load reached ${achieved.toFixed(0)} req/s, not ${RATE}`);
  return r;
}

function describe(r: RunResult): string[] {
  const s = r.server;
  const at = (x: number | undefined) => (x === undefined ? '?' : `${x >= 0 ? '+' : ''}${Math.round(x)} ms`);
  return [
    `  run ${r.run} (release ${r.release} ${r.version}, rollout #${r.rolloutId}): canary answered ${r.blast} request(s) (${r.blastFailed} failed) over ${fmtMs(r.rollbackMs)}; ` +
      `deploy --wait exited ${r.exitCode} (${r.phase}: ${r.reason}) ${fmtMs(r.deployExitMs)} after the canary's first answer (command ${fmtMs(r.deployWallMs)}); ` +
      `${r.sent} requests, ${r.stableAnswers} answered by ${STABLE}, ${r.otherFailed} failed outside the canary`,
    `    controller, from the canary's first answer: canary routed ${at(s.canaryRouted)}, hard failure ${at(s.hardFail)}, traffic back ${at(s.routeBack)}, ${r.phase} ${at(s.finished)}`,
    ...r.odd.map((o) => `    ODD: ${o}`),
  ];
}

function printTable(results: RunResult[]): void {
  const rb = results.map((r) => r.rollbackMs).filter(Number.isFinite);
  const blast = results.map((r) => r.blast);
  const exits = results.map((r) => r.deployExitMs).filter(Number.isFinite);
  const medRb = median(rb);
  const canaryRate = (RATE * CANARY_WEIGHT) / 100;
  const estimate = (s: [number, number] | null) => {
    if (!s) return 'unbounded';
    const [a, b] = s.map((x) => Math.round(x * canaryRate).toLocaleString('en-US'));
    return a === b ? `≈ ${a} (est.)` : `≈ ${a}–${b} (est.)`;
  };
  const rows = [
    ['', 'time to rollback (median / max)', 'canary-answered requests (median / max)', 'notes'],
    [
      `Slipway (measured, ${results.length} runs)`,
      `${fmtMs(medRb)} / ${fmtMs(max(rb))}`,
      `${median(blast)} / ${max(blast)}  (failed: ${median(results.map((r) => r.blastFailed))} / ${max(results.map((r) => r.blastFailed))})`,
      `hard-failure fast path; deploy --wait exits ${fmtMs(median(exits))} (max ${fmtMs(max(exits))}) after the first canary answer`,
    ],
    ...PEERS.map((p) => [p.name, p.time, estimate(p.seconds), p.note]),
  ];
  console.log(`\n${formatTable(rows)}`);
  console.log(
    `(peers: documented defaults/examples as stated, not measured here; their request counts are estimates at this load's ${canaryRate} req/s to a ${CANARY_WEIGHT}% canary)`,
  );
  console.log(
    `\nSlipway vs Flagger's example (5 min): ${Number.isFinite(medRb) && medRb > 0 ? `${Math.round(300_000 / medRb).toLocaleString('en-US')}× faster` : 'n/a'} (median ${fmtMs(medRb)}); even Flagger's 10 s minimum interval is ${(10_000 / medRb).toFixed(0)}× our median.`,
  );
  const met = rb.length === results.length && max(rb) < GOAL_MS;
  console.log(
    `Goal: time to rollback under ${fmtMs(GOAL_MS)}: ${met ? 'MET' : 'NOT MET'} (median ${fmtMs(medRb)}, max ${fmtMs(max(rb))} over ${results.length} runs).`,
  );
  const otherFailed = results.reduce((n, r) => n + r.otherFailed, 0);
  const stableAnswers = results.reduce((n, r) => n + r.stableAnswers, 0);
  console.log(
    `Stable release: ${stableAnswers} answers, ${otherFailed} failed request(s) not from the canary${otherFailed ? ' (should be 0!)' : ' (as it should be)'}.`,
  );
}

export async function run(): Promise<void> {
  const cleanup = new Cleanup();
  cleanup.arm();
  const began = Date.now();
  const results: RunResult[] = [];
  console.log(
    `canary-rollback: ${RUNS} bad canaries (every "/" → 500) against stable ${STABLE} on 2 instances; ${RATE} req/s paced from a separate process (${CONCURRENCY} keep-alive loops), every answer recorded`,
  );
  console.log(`strategy: ${STRATEGY}; analysis: ${ANALYSIS}; health every 250 ms`);
  let p: SlipwayProject | undefined;
  try {
    p = await SlipwayProject.create([APP], 'slipway-canary-bench-');
    const project = p;
    cleanup.add('slipway project', () => project.dispose());
    p.writeConfig({
      instances: 2,
      start: 'node server.cjs',
      env: { VERSION: STABLE },
      health: '{ path: /healthz, interval: 250ms }',
      stopTimeout: '5s',
      strategy: STRATEGY,
      analysis: ANALYSIS,
    });
    console.log(`Slipway: up (2 instances of ${STABLE}, ${p.url}, project ${p.dir})`);
    await p.mustCli(['up'], 120_000);
    await waitFor(`Slipway to serve ${STABLE}`, async () => (await probe(project.url)).includes(`version=${STABLE} `), 20_000, 100);
    const st = JSON.parse((await p.mustCli(['status', '--json'])).stdout) as Status;
    const stableRelease = st.services[0]?.currentRelease;
    if (stableRelease === null || stableRelease === undefined) throw new Error(`no current release after up: ${JSON.stringify(st)}`);
    const client = ControllerClient.connect(p.dir);
    for (let i = 1; i <= RUNS; i++) {
      if (Date.now() - began > BUDGET_MS) {
        console.log(`  (time budget used: stopping after ${i - 1} runs)`);
        break;
      }
      const r = await oneRun(p, client, cleanup, i, stableRelease);
      for (const line of describe(r)) console.log(line);
      if (r.odd.length || i === 1) for (const l of r.controllerLog) console.log(`    controller.log: ${l}`);
      results.push(r);
    }
  } catch (err) {
    const log = p ? join(p.dir, '.slipway/controller.log') : '';
    if (log && existsSync(log))
      console.error(`controller.log (last 30 lines):\n${readFileSync(log, 'utf8').trimEnd().split('\n').slice(-30).join('\n')}`);
    throw err;
  } finally {
    await cleanup.run();
  }
  if (results.length) printTable(results);
  console.log(`(bench took ${fmtMs(Date.now() - began)})`);
}
