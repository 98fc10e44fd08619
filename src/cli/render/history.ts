/** `slipway history` for people: releases, rollouts, and the judgements behind rollbacks with their numbers. */
import type { HistoryResponse } from '../../api/types.js';
import { table, type Output } from '../output.js';
import { ago, analysisLabel, firstLine, formatNumbers, num, text } from './format.js';

type Paint = Pick<Output, 'paint'>;

export function renderHistory(res: HistoryResponse, out: Paint, now = Date.now()): string[] {
  const service = text(res.service, '?');
  const releases = (res.releases ?? []).filter(Boolean);
  const rollouts = (res.rollouts ?? []).filter(Boolean);
  const o: string[] = [out.paint('bold', `${service} (${text(res.environment, '?')}): releases`)];
  o.push(
    table([
      ['', 'RELEASE', 'OUTCOME', 'DIGEST', 'SECRETS', 'CREATED', 'BY', 'MESSAGE'],
      ...releases.map((r, i) => [
        r.current ? '*' : '',
        num(r.number),
        `${text(r.outcome, '?')}${r.pruned ? ' (pruned)' : ''}`,
        typeof r.digest === 'string' ? text(r.digest.slice(7, 19)) : '-',
        secretsColumn(r.secretsHash, releases[i + 1]?.secretsHash),
        ago(r.createdAt, now),
        text(r.createdBy, '-'),
        firstLine(r.message),
      ]),
    ]),
  );
  // Where shipped releases came from, and what they proved there (slipway ship).
  for (const r of releases) {
    const e = r.evidence;
    if (!e || typeof e !== 'object') continue;
    o.push(
      `  release ${num(r.number)}: shipped from ${text(e.environment, '?')} release ${num(e.release)}, healthy there ${ago(e.succeededAt, now)} (rollout #${num(e.rolloutId)})`,
    );
  }
  o.push('', out.paint('bold', 'rollouts'));
  o.push(
    table([
      ['#', 'KIND', 'FROM→TO', 'PHASE', 'REASON', 'STARTED', 'MESSAGE'],
      ...rollouts.map((r) => [
        num(r.id),
        text(r.kind, '?'),
        `${num(r.fromRelease)}→${num(r.toRelease)}`,
        text(r.phase, '?'),
        text(r.reason, '-'),
        ago(r.startedAt, now),
        firstLine(r.message),
      ]),
    ]),
  );
  // The judgements behind rollbacks, with their numbers.
  for (const r of rollouts) {
    for (const a of (r.analysis ?? []).filter((x) => x && (x.phase === 'Failed' || x.phase === 'Error' || x.phase === 'Inconclusive'))) {
      const numbers = a.last ? formatNumbers(a.last.numbers) : '';
      o.push(
        `  #${num(r.id)} ${analysisLabel(a.key, r.steps)}: ${text(a.phase)} — ${text(a.reason, '-')}${numbers ? ` [${numbers}]` : ''}`,
      );
    }
  }
  // Who approved or rejected a deploy, and why (environments that require approval).
  for (const r of rollouts) {
    const a = r.approval;
    if (a && a.state !== 'pending')
      o.push(`  #${num(r.id)} ${text(a.state, '?')} by ${text(a.by, '?')} ${ago(a.at, now)}${a.comment ? `: ${text(a.comment)}` : ''}`);
  }
  return o;
}

/**
 * A release's secrets beside the one before it (the next row, older): a short prefix of their
 * keyed hash (which tells nothing about the values) and whether they changed. Values never appear.
 */
function secretsColumn(hash: unknown, before: unknown): string {
  if (typeof hash !== 'string') return '-';
  const short = text(hash.replace(/^hmac-sha256:/, '').slice(0, 8));
  if (before === undefined) return short;
  return hash === before ? `${short} same` : `${short} changed`;
}
