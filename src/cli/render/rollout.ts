/** How a rollout in progress and its outcome read on the terminal (deploy --wait, rollback, promote --wait, up). */
import type { AnalysisView, RolloutResponse, RolloutView, TrafficView } from '../../api/types.js';
import type { Output } from '../output.js';
import { analysisLabel, firstLine, formatNumbers, lines, num, percent, text } from './format.js';

type Paint = Pick<Output, 'paint'>;

// Countdowns ("pausing 30s (12.5s left)", "promoting automatically in 4.2s") change at every
// poll; off a terminal they would print a new line every 200 ms, so there the line leaves them out.
const DURATION = String.raw`\d+(?:\.\d+)?(?:ms|[smhd])(?:\d+(?:\.\d+)?(?:ms|[smhd]))*`;
const COUNTDOWN = new RegExp(String.raw` \(${DURATION} left\)| in ${DURATION}(?=$|[;,.)])`, 'g');

/** Where a rollout is: canary step and weight, or blue-green stage. */
export function whereLine(r: RolloutView): string {
  if (typeof r.steps === 'number') {
    const step = Math.min((typeof r.step === 'number' && Number.isFinite(r.step) ? r.step : 0) + 1, r.steps);
    return `step ${num(step)}/${num(r.steps)} weight ${num(r.weight ?? 0)}%`;
  }
  return r.stage ? text(r.stage) : '';
}

export function trafficSummary(traffic: TrafficView[] | undefined): string {
  const parts = (traffic ?? [])
    .filter((t) => t && typeof t.backends === 'number' && t.backends > 0 && typeof t.share === 'number' && t.share > 0)
    .map((t) => `r${num(t.release)} ${percent(t.share)}`);
  return parts.join(' · ') || 'none';
}

function analysisSummary(r: RolloutView): string {
  return (r.analysis ?? [])
    .filter((a) => a && (a.phase !== 'Successful' || a.last))
    .map((a) => `${analysisLabel(a.key, r.steps)} ${text(a.phase, '?').toLowerCase()}`)
    .join(', ');
}

/**
 * One line: what is rolled out, its phase and step, readiness, then why it waits and the preview
 * URL (what a person acts on), then traffic and analysis. On a narrow terminal the line is cut
 * from the end, so the most useful parts come first.
 */
export function progressLine(res: RolloutResponse, out: Paint, opts: { live?: boolean } = {}): string {
  const r = res.rollout;
  const service = text(res.service?.service, '?');
  const phaseText = text(r.phase, '?');
  const phase =
    r.phase === 'Progressing'
      ? out.paint('cyan', phaseText)
      : r.phase === 'Healthy'
        ? out.paint('green', phaseText)
        : out.paint('yellow', phaseText);
  const checks = analysisSummary(r);
  // While paused or failing, say what it waits for or why.
  let why = r.phase === 'Paused' || r.phase === 'Degraded' || r.phase === 'AwaitingApproval' ? firstLine(r.message) : '';
  if (!opts.live) why = why.replace(COUNTDOWN, '');
  const parts = [
    `${service}: ${text(r.kind, '?')} → release ${num(r.toRelease)}`,
    phase,
    whereLine(r),
    `ready ${num(r.ready ?? 0)}/${r.desired === null || r.desired === undefined ? '?' : num(r.desired)}`,
    why ? `— ${why}` : '',
    r.previewUrl && r.phase !== 'Healthy' ? `preview ${text(r.previewUrl)}` : '',
    `traffic ${trafficSummary(res.service?.traffic)}`,
    checks ? `analysis: ${checks}` : '',
  ];
  return parts.filter(Boolean).join('  ');
}

function failedChecks(r: RolloutView): AnalysisView[] {
  return (r.analysis ?? []).filter((a) => a && (a.phase === 'Failed' || a.phase === 'Error'));
}

/**
 * The lines after a rollout ended: `ok` lines for stdout when it reached `success`, else the
 * failure, its message, the failing checks with their numbers and what to do next for stderr.
 */
export function outcomeLines(res: RolloutResponse, out: Paint, success: 'Healthy' | 'RolledBack'): { ok: boolean; lines: string[] } {
  const r = res.rollout;
  const service = text(res.service?.service, '?');
  if (r.phase === success && success === 'RolledBack') {
    return { ok: true, lines: [`${out.paint('green', '✓')} ${service}: rollout #${num(r.id)} undone; ${firstLine(r.message)}`] };
  }
  if (r.phase === 'Healthy') {
    return {
      ok: true,
      lines: [
        `${out.paint('green', '✓')} ${service}: release ${num(r.toRelease)} is live (${num(r.ready)}/${num(r.desired)} healthy) at ${text(res.service?.url, '?')}`,
      ],
    };
  }
  const ended = r.phase === 'RolledBack' ? 'rolled back' : text(r.phase, 'ended').toLowerCase();
  const out2 = [
    `${out.paint('red', '✗')} ${service}: ${text(r.kind, 'rollout')} to release ${num(r.toRelease)} ${ended}${r.reason ? ` (${text(r.reason)})` : ''}`,
  ];
  const message = lines(r.message);
  if (message.length) out2.push(`  ${message.join('\n  ')}`);
  for (const a of failedChecks(r)) {
    const numbers = a.last ? formatNumbers(a.last.numbers) : '';
    out2.push(`  analysis ${analysisLabel(a.key, r.steps)}: ${text(a.reason, text(a.phase, '?'))}${numbers ? ` [${numbers}]` : ''}`);
  }
  out2.push(
    r.reason === 'HostFailed'
      ? `  Next: bring the host back (\`slipway status ${service}\` shows each host), then \`slipway retry ${service}\`: hosts that already serve the release are left as they are.`
      : `  Next: fix the release and deploy again; inspect with \`slipway logs ${service}\` and \`slipway history ${service}\`.`,
  );
  return { ok: false, lines: out2 };
}
