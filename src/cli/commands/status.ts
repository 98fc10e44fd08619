import { parseArgs } from 'node:util';
import { ControllerClient } from '../../client/client.js';
import type { ServiceStatus } from '../../api/types.js';
import type { Command } from '../context.js';
import { ago, formatNumbers, table, type Output } from '../output.js';

export const status: Command = {
  name: 'status',
  summary: 'Releases, instances, health and traffic per release of every service',
  usage: 'slipway status [SERVICE] [--json]',
  async run({ dir, out, json, args }) {
    const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
    const client = ControllerClient.connect(dir);
    const res = await client.status();
    const services = positionals.length ? res.services.filter((s) => positionals.includes(s.service)) : res.services;
    if (positionals.length && services.length === 0) {
      out.err(`no service named ${positionals.join(', ')}; services: ${res.services.map((s) => s.service).join(', ')}`);
      return 3;
    }
    if (json) { out.out(JSON.stringify({ ...res, services }, null, 2)); return 0; }
    out.out(`${out.paint('bold', res.app || 'app')} (${res.environment}) · controller pid ${res.controller.pid}`);
    if (res.router) out.out(`router ${res.router.up ? `pid ${res.router.pid} (worker ${res.router.workerPid})` : out.paint('red', 'DOWN')} · restarts ${res.router.restarts}, worker restarts ${res.router.workerRestarts}${res.router.lastProblem ? ` · last problem: ${res.router.lastProblem}` : ''}`);
    for (const s of services) printService(s, out);
    return services.some((s) => s.health === 'Down' || s.health === 'Degraded') ? 1 : 0;
  },
};

function printService(s: ServiceStatus, out: Output): void {
  const color = s.health === 'Healthy' ? 'green' : s.health === 'Progressing' ? 'cyan' : 'red';
  out.out('');
  out.out(`${out.paint('bold', s.service)}  ${out.paint(color, s.health)}  release ${s.currentRelease ?? '-'}  ${s.url}`);
  const r = s.rollout;
  if (r) {
    const when = r.finishedAt ? `finished ${ago(r.finishedAt)}` : `started ${ago(r.startedAt)}`;
    out.out(`  rollout #${r.id} ${r.kind} ${r.fromRelease ?? '-'} → ${r.toRelease}: ${r.phase} (${r.reason}), ${when}`);
    if (r.steps !== undefined) out.out(`    ${r.strategy}: step ${Math.min((r.step ?? 0) + 1, r.steps)}/${r.steps}, canary weight ${r.weight ?? 0}%`);
    if (r.stage) out.out(`    ${r.strategy}: ${r.stage}`);
    if (r.message) out.out(`    ${r.message.split('\n').join('\n    ')}`);
    if (r.analysis.length) {
      out.out('  analysis:');
      out.out(table([
        ['   ', 'CHECK', 'PHASE', 'PASS/FAIL/INC/ERR', 'LAST MEASUREMENT'],
        ...r.analysis.map((a) => ['   ', a.key, a.phase, `${a.counts.passed}/${a.counts.failed}/${a.counts.inconclusive}/${a.counts.errors}`,
          a.last ? `${a.last.verdict}: ${a.last.reason} ${formatNumbers(a.last.numbers)}` : '-']),
      ]));
    }
  }
  if (s.traffic.length) {
    out.out('  traffic:');
    out.out(table(s.traffic.map((t) => ['   ', `release ${t.release}`, `${Math.round(t.share * 100)}%`, `${t.backends} instance(s)`, `${t.requests} req`, `${t.errors5xx} 5xx`])));
  }
  if (s.instances.length) {
    out.out('  instances:');
    out.out(table([
      ['   ', 'ID', 'RELEASE', 'STATE', 'HEALTH', 'PID', 'PORT', 'RESTARTS', 'LAST PROBE'],
      ...s.instances.map((i) => ['   ', i.id, String(i.release), i.retiring ? 'draining' : i.state, i.healthy ? out.paint('green', 'healthy') : out.paint('red', 'unhealthy'),
        String(i.pid ?? '-'), String(i.port), String(i.restarts), i.lastProbe ?? '-']),
    ]));
    for (const i of s.instances.filter((x) => x.logTail?.length)) {
      out.out(`  ${i.id} exited ${i.lastExit?.code ?? i.lastExit?.signal ?? '?'}; last log lines:`);
      for (const line of i.logTail!) out.out(`    ${out.paint('dim', line)}`);
    }
  }
}
