/** `slipway status` for people: each service with its rollout, analysis, traffic and instances. */
import type { ServiceStatus, StatusResponse } from '../../api/types.js';
import { table, type Output } from '../output.js';
import { whereLine } from './rollout.js';
import { ago, analysisLabel, formatNumbers, lines, num, percent, text } from './format.js';

type Paint = Pick<Output, 'paint'>;

export function renderStatus(res: StatusResponse, services: ServiceStatus[], out: Paint, now = Date.now()): string[] {
  const metrics = typeof res.controller?.metrics === 'string' ? ` · metrics ${text(res.controller.metrics, '?')}` : '';
  const head = `${out.paint('bold', text(res.app, 'app'))} (${text(res.environment, '?')}) · controller pid ${num(res.controller?.pid)}${metrics}`;
  return [head, ...routerLine(res.router, out), ...diskLine(res.disk), ...services.flatMap((s) => renderService(s, out, now))];
}

/** Disk used under .slipway: artifacts, the file store (each file once), releases' own directories, caches. */
function diskLine(d: StatusResponse['disk'] | undefined): string[] {
  if (d === undefined || d === null || typeof d !== 'object') return [];
  const total = [d.artifacts?.bytes, d.files?.bytes, d.releases?.bytes, d.caches?.bytes].reduce<number>(
    (n, b) => n + (typeof b === 'number' && Number.isFinite(b) ? b : 0),
    0,
  );
  return [
    `disk ${bytes(total)} · artifacts ${num(d.artifacts?.count)} (${bytes(d.artifacts?.bytes)}) · file store ${num(d.files?.count)} files (${bytes(d.files?.bytes)}) · releases ${num(d.releases?.count)} (${bytes(d.releases?.bytes)} of directories) · caches ${bytes(d.caches?.bytes)}`,
  ];
}

function bytes(n: unknown): string {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return '?';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** The router's health: its pids, how often it and its proxy worker were replaced, its last problem. */
function routerLine(r: StatusResponse['router'] | undefined, out: Paint): string[] {
  if (r === undefined || r === null) return [];
  const state = r.up ? `pid ${num(r.pid)} (worker ${num(r.workerPid)})` : out.paint('red', 'DOWN');
  const problem = r.lastProblem ? ` · last problem: ${text(r.lastProblem)}` : '';
  return [`router ${state} · restarts ${num(r.restarts)}, worker restarts ${num(r.workerRestarts)}${problem}`];
}

export function renderService(s: ServiceStatus, out: Paint, now = Date.now()): string[] {
  const o: string[] = [''];
  const color = s.health === 'Healthy' ? 'green' : s.health === 'Progressing' ? 'cyan' : 'red';
  o.push(
    `${out.paint('bold', text(s.service, '?'))}  ${out.paint(color, text(s.health, '?'))}  release ${num(s.currentRelease)}  ${text(s.url)}`.trimEnd(),
  );
  if (s.runtime?.kind === 'podman') {
    const where = s.runtime.where === 'local' ? ' (local image id: no registry declared, only this machine has it)' : '';
    o.push(`  runtime podman · image ${text(s.runtime.image)}${where}`);
  }
  if (s.scaled) {
    const n = num(s.scaled.instances),
      m = num(s.scaled.configured);
    o.push(
      `  ${out.paint('yellow', `scaled to ${n} instance(s)`)} by slipway scale; slipway.yaml says ${m}: the next \`slipway up\` or deploy goes back to ${m}`,
    );
  }
  // What `slipway up` would do: shown whenever slipway.yaml or the source no longer describe what serves.
  const drift = s.drift && typeof s.drift === 'object' ? s.drift : undefined;
  if (drift && drift.state !== 'unchanged')
    o.push(`  ${out.paint('yellow', 'drift:')} ${text(drift.message, `${text(drift.state, '?')}`)}`);
  const r = s.rollout;
  if (r) {
    const when = typeof r.finishedAt === 'number' ? `finished ${ago(r.finishedAt, now)}` : `started ${ago(r.startedAt, now)}`;
    o.push(
      `  rollout #${num(r.id)} ${text(r.kind, '?')} ${num(r.fromRelease)} → ${num(r.toRelease)}: ${text(r.phase, '?')}${r.reason ? ` (${text(r.reason)})` : ''}, ${when}`,
    );
    const where = whereLine(r);
    if (where) o.push(`    ${text(r.strategy, 'strategy')}: ${where}`);
    if (r.previewUrl) o.push(`    preview: ${text(r.previewUrl)}`);
    const message = lines(r.message);
    if (message.length) o.push(`    ${message.join('\n    ')}`);
    const a = r.approval;
    if (a && a.state !== 'pending')
      o.push(
        `    ${text(a.state, '?')} by ${text(a.by, '?')}${typeof a.at === 'number' ? ` ${ago(a.at, now)}` : ''}${a.comment ? `: ${text(a.comment)}` : ''}`,
      );
    const analysis = (r.analysis ?? []).filter(Boolean);
    if (analysis.length) {
      o.push('  analysis:');
      o.push(
        table([
          ['   ', 'CHECK', 'PHASE', 'PASS/FAIL/INC/ERR', 'LAST MEASUREMENT'],
          ...analysis.map((a) => [
            '   ',
            analysisLabel(a.key, r.steps),
            text(a.phase, '?'),
            `${num(a.counts?.passed)}/${num(a.counts?.failed)}/${num(a.counts?.inconclusive)}/${num(a.counts?.errors)}`,
            a.last ? `${text(a.last.verdict, '?')}: ${text(a.last.reason)} ${formatNumbers(a.last.numbers)}`.trimEnd() : '-',
          ]),
        ]),
      );
    }
  }
  const traffic = (s.traffic ?? []).filter(Boolean);
  if (traffic.length) {
    o.push('  traffic:');
    o.push(
      table(
        traffic.map((t) => [
          '   ',
          `release ${num(t.release)}`,
          percent(t.share),
          `${num(t.backends)} instance(s)`,
          `${num(t.requests)} req`,
          `${num(t.errors5xx)} 5xx`,
        ]),
      ),
    );
  }
  const hosts = (s.hosts ?? []).filter(Boolean);
  if (hosts.length) {
    o.push('  hosts:');
    o.push(
      table([
        ['   ', 'HOST', 'RELEASE', 'SERVING', 'RUNTIME', 'HEALTH', 'PROBLEM'],
        ...hosts.map((h) => [
          '   ',
          text(h.host, '?'),
          h.release === null ? '-' : num(h.release),
          `${num(h.serving)} instance(s)`,
          text(h.runtime, '-'),
          h.health === 'healthy' ? out.paint('green', 'healthy') : out.paint(h.health === 'down' ? 'red' : 'yellow', text(h.health, '?')),
          text(hostProblem(h), '-'),
        ]),
      ]),
    );
  }
  const instances = (s.instances ?? []).filter(Boolean);
  if (instances.length) {
    o.push('  instances:');
    const onHosts = instances.some((i) => typeof i.host === 'string');
    o.push(
      table([
        ['   ', 'ID', ...(onHosts ? ['HOST'] : []), 'RELEASE', 'STATE', 'HEALTH', 'PID', 'PORT', 'RESTARTS', 'LAST PROBE'],
        ...instances.map((i) => [
          '   ',
          text(i.id, '?'),
          ...(onHosts ? [text(i.host, '-')] : []),
          num(i.release),
          i.retiring ? 'draining' : text(i.state, '?'),
          i.healthy ? out.paint('green', 'healthy') : out.paint('red', 'unhealthy'),
          num(i.pid),
          num(i.port),
          num(i.restarts),
          text(i.lastProbe, '-'),
        ]),
      ]),
    );
    for (const i of instances.filter((x) => Array.isArray(x.logTail) && x.logTail.length)) {
      const exit = typeof i.lastExit?.code === 'number' ? num(i.lastExit.code) : text(i.lastExit?.signal, '?');
      o.push(`  ${text(i.id, '?')} exited ${exit}; last log lines:`);
      for (const line of i.logTail!) o.push(`    ${out.paint('dim', text(line))}`);
    }
  }
  return o;
}

/** An unreachable host's problem, since when, and what it served when last reached (stale). */
function hostProblem(h: NonNullable<StatusResponse['services'][number]['hosts']>[number]): string | undefined {
  if (h.reachable || typeof h.since !== 'number') return h.problem;
  const since = new Date(h.since).toISOString().slice(11, 19);
  const last = h.lastKnown ? `; last seen serving release ${h.lastKnown.release ?? '-'} on ${h.lastKnown.serving}` : '';
  return `${h.problem ?? 'unreachable'} (unreachable since ${since}Z${last})`;
}
