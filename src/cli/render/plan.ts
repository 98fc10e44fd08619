/** `slipway plan` for people: per service what a deploy would change, then a summary line. */
import type { PlanGate, PlanResponse, ServicePlan } from '../../api/types.js';
import type { Output } from '../output.js';
import { num, text } from './format.js';

type Paint = Pick<Output, 'paint'>;

export function renderPlan(plan: PlanResponse, out: Paint): string[] {
  const lines = [`${out.paint('bold', text(plan.app, 'app'))} (${text(plan.environment, '?')}) · plan at ${text(plan.at)}`];
  for (const s of plan.services) lines.push('', ...renderServicePlan(s, out));
  const count = (a: ServicePlan['action']) => plan.services.filter((s) => s.action === a).length;
  lines.push(
    '',
    `Plan: ${count('create')} to create, ${count('update')} to update, ${count('none')} unchanged. Deploy order: ${plan.order.map((o) => text(o)).join(', ') || '-'}.`,
  );
  if (plan.changes)
    lines.push(`Apply with \`slipway up\`${plan.environment ? ` (or \`slipway deploy SERVICE --env ${text(plan.environment)}\`)` : ''}.`);
  return lines;
}

function renderServicePlan(s: ServicePlan, out: Paint): string[] {
  const name = out.paint('bold', text(s.service, '?'));
  const head =
    s.action === 'create'
      ? `${name}: ${out.paint('green', 'create')} release 1 (not deployed yet)`
      : s.action === 'update'
        ? `${name}: ${out.paint('yellow', 'update')} release ${num(s.currentRelease)} → a new release`
        : `${name}: no changes (release ${num(s.currentRelease)} serves what slipway.yaml and the source describe)`;
  const o = [head];
  const short = (d: string | null) =>
    d
      ? text(d)
          .replace(/^sha256:/, 'sha256:')
          .slice(0, 19)
      : '-';
  if (s.action !== 'none') {
    o.push(
      s.artifact.changed
        ? `  artifact: ${short(s.artifact.serving)} → ${short(s.artifact.digest)}${s.artifact.how === 'built' ? ' (built now to tell; not stored)' : ''}`
        : `  artifact: unchanged (${short(s.artifact.digest)})`,
    );
    if (s.config.length && s.action === 'update') {
      o.push('  config:');
      for (const c of s.config)
        o.push(
          `    ${out.paint(c.from === null ? 'green' : c.to === null ? 'red' : 'yellow', c.from === null ? '+' : c.to === null ? '-' : '~')} ${text(c.key)}: ${c.from === null ? text(c.to) : c.to === null ? `${text(c.from)} (removed)` : `${text(c.from)} → ${text(c.to)}`}`,
        );
    } else if (s.action === 'update') o.push('  config: unchanged');
    o.push(`  instances: ${s.instances.from === null ? num(s.instances.to) : `${num(s.instances.from)} → ${num(s.instances.to)}`}`);
    o.push(
      `  strategy: ${text(s.strategy.summary)}${s.strategy.from && s.strategy.from !== s.strategy.to ? ` (was ${text(s.strategy.from)})` : ''}`,
    );
    if (s.dependsOn.length) o.push(`  after: ${s.dependsOn.map((d) => text(d)).join(', ')}`);
  }
  for (const g of s.gates) if (s.action !== 'none') o.push(`  gate: ${gateLine(g, out)}`);
  for (const n of s.notes) o.push(`  note: ${text(n)}`);
  return o;
}

function gateLine(g: PlanGate, out: Paint): string {
  if (g.kind === 'approval') return `approval required: ${text(g.message)}`;
  if (g.kind === 'policy')
    return g.mode === 'enforce'
      ? `policy ${text(g.policy)}: ${out.paint('red', 'denies')}: ${text(g.message)}`
      : `policy ${text(g.policy)} (${g.mode}): ${text(g.message)}`;
  return g.open
    ? `window: ${text(g.message)}`
    : `window: ${out.paint('red', 'closed')}: ${text(g.message.replace(/^deployment window closed: /, ''))}`;
}
