/**
 * One service, live: its health and releases, the rollout under way (step, weights, every analysis
 * verdict with its numbers), charts of traffic, errors and latency per release, its instances,
 * its release history, and the actions the token may take.
 */
import { useEffect, useRef, useState } from 'react';
import type { HistoryResponse, RolloutResponse, RolloutView, ServiceStatus } from '../../../src/api/types.js';
import type { TrafficResponse, WhoAmIResponse } from '../../../src/api/dashboard-types.js';
import { enc, inEnv } from '../api.js';
import { ErrorBox } from '../App.js';
import { useLive } from '../live.js';
import { Badge } from '../parts/Health.js';
import { Chart } from '../parts/Chart.js';
import { Actions } from '../parts/Actions.js';
import { sampleBetween, series, type Sample } from '../samples.js';
import { ago, num, pct, time } from '../format.js';
import { previousRelease } from './ServicesPage.js';

/** Samples kept for the charts: two minutes at one a second. */
const WINDOW = 120;

export function ServicePage({ env, service, who }: { env: string | null; service: string; who: WhoAmIResponse }) {
  const base = `/v1/services/${enc(service)}`;
  // The service's full status (with drift) now and then; the rollout's endpoint (no drift) every second.
  const status = useLive<ServiceStatus>(env === null ? null : inEnv(`${base}/status`, env), { periodMs: 5000 });
  const [rolloutId, setRolloutId] = useState<number | null>(null);
  const followed = useLive<RolloutResponse>(rolloutId === null ? null : `/v1/rollouts/${rolloutId}`, { periodMs: 1000 });
  const latestId = followed.data?.service.rollout?.id ?? status.data?.rollout?.id ?? null;
  useEffect(() => {
    // A newer rollout (after an action, or a deploy from the CLI) is followed from then on.
    if (latestId !== null && (rolloutId === null || latestId > rolloutId)) setRolloutId(latestId);
  }, [latestId, rolloutId]);
  const history = useLive<HistoryResponse>(env === null ? null : inEnv(`${base}/history?limit=20`, env), { periodMs: 3000, evented: true });
  const samples = useTraffic(env === null ? null : inEnv(`${base}/traffic`, env));

  const s: ServiceStatus | undefined =
    followed.data && status.data ? { ...followed.data.service, drift: status.data.drift } : (followed.data?.service ?? status.data);
  const rollout = followed.data?.service.rollout ?? s?.rollout ?? null;

  return (
    <section>
      <p className="crumbs">
        <a href="#/">Services</a> / {env} / {service}
      </p>
      {status.error && <ErrorBox error={status.error} />}
      {!s && !status.error && <p className="muted">Loading…</p>}
      {s && (
        <>
          <div className="headline">
            <h1 data-testid="service-name">{s.service}</h1>
            <Badge value={s.health} testId="service-health" />
            <span data-testid="service-release">
              release {s.currentRelease === null ? '—' : `#${s.currentRelease}`}
              {previousRelease(s) !== null && <span className="muted"> (before: #{previousRelease(s)})</span>}
            </span>
            <a className="muted" href={s.url} rel="noreferrer" target="_blank">
              {s.url}
            </a>
          </div>
          {/* During a rollout slipway.yaml describes the release on its way in: no news. */}
          {s.drift && s.drift.state !== 'unchanged' && rollout?.finishedAt !== null && <p className="note">{s.drift.message}</p>}
          <Actions s={s} env={env} who={who} />
          {rollout && <RolloutPanel r={rollout} s={s} />}
          <div className="charts">
            <TrafficCharts samples={samples} />
          </div>
          {rollout && <AnalysisTable r={rollout} />}
          <Instances s={s} />
        </>
      )}
      <History h={history.data} />
    </section>
  );
}

/** Reads the router's counters every second and keeps the last WINDOW rates. */
function useTraffic(path: string | null): Sample[] {
  const [samples, setSamples] = useState<Sample[]>([]);
  const prev = useRef<TrafficResponse | undefined>(undefined);
  const traffic = useLive<TrafficResponse>(path, { periodMs: 1000 });
  useEffect(() => {
    prev.current = undefined;
    setSamples([]);
  }, [path]);
  useEffect(() => {
    const next = traffic.data;
    if (!next) return;
    const p = prev.current;
    prev.current = next;
    if (!p || p.at === next.at) return;
    const s = sampleBetween(p, next);
    if (s) setSamples((all) => [...all.slice(-(WINDOW - 1)), s]);
  }, [traffic.data]);
  return samples;
}

function TrafficCharts({ samples }: { samples: Sample[] }) {
  const releases = [...new Set(samples.flatMap((s) => [...s.perRelease.keys()]))].sort((a, b) => a - b);
  return (
    <>
      <Chart
        title="Traffic by release"
        unit="req/s"
        releases={releases}
        data={series(samples, releases, (v) => v.rps)}
        testId="chart-traffic"
      />
      <Chart
        title="Error rate (5xx)"
        unit="%"
        releases={releases}
        data={series(samples, releases, (v) => v.errorPct)}
        testId="chart-errors"
      />
      <Chart
        title="Latency (mean)"
        unit="ms"
        releases={releases}
        data={series(samples, releases, (v) => v.meanMs)}
        testId="chart-latency"
      />
    </>
  );
}

function RolloutPanel({ r, s }: { r: RolloutView; s: ServiceStatus }) {
  const active = r.finishedAt === null;
  return (
    <div className="panel" data-testid="rollout">
      <h2>
        Rollout #{r.id} <Badge value={r.phase} testId="rollout-phase" />
      </h2>
      <dl className="facts">
        <dt>What</dt>
        <dd>
          {r.kind} {r.fromRelease === null ? '' : `#${r.fromRelease} → `}#{r.toRelease} ({r.strategy})
        </dd>
        {r.step !== undefined && r.steps !== undefined && (
          <>
            <dt>Step</dt>
            <dd data-testid="rollout-step">
              {active ? `${Math.min(r.step + 1, r.steps)} of ${r.steps}` : `${r.steps} steps`}, canary weight {r.weight ?? 0}%
            </dd>
          </>
        )}
        {r.stage && (
          <>
            <dt>Stage</dt>
            <dd>{r.stage}</dd>
          </>
        )}
        <dt>Weights</dt>
        <dd data-testid="rollout-weights">
          {s.traffic.length
            ? s.traffic.map((t) => (
                <span key={t.release} className="weight">
                  #{t.release}: {pct(t.share)} ({t.backends} up)
                </span>
              ))
            : '—'}
        </dd>
        <dt>Instances</dt>
        <dd>
          {r.ready ?? '—'} ready of {r.desired ?? '—'}
        </dd>
        <dt>Started</dt>
        <dd>
          {time(r.startedAt)}
          {r.finishedAt !== null && <> · finished {time(r.finishedAt)}</>}
        </dd>
        {r.approval && (
          <>
            <dt>Approval</dt>
            <dd>
              {r.approval.state}
              {r.approval.by ? ` by ${r.approval.by}` : ''}
              {r.approval.comment ? `: ${r.approval.comment}` : ''}
            </dd>
          </>
        )}
        {(r.message || r.reason) && (
          <>
            <dt>Why</dt>
            <dd data-testid="rollout-message">{r.message || r.reason}</dd>
          </>
        )}
      </dl>
    </div>
  );
}

function AnalysisTable({ r }: { r: RolloutView }) {
  if (!r.analysis.length) return null;
  return (
    <div className="panel">
      <h2>Analysis</h2>
      <div className="scroll">
        <table data-testid="analysis">
          <thead>
            <tr>
              <th>Check</th>
              <th>Verdict</th>
              <th>Passed / failed / inconclusive / errors</th>
              <th>Last measurement</th>
            </tr>
          </thead>
          <tbody>
            {r.analysis.map((a) => (
              <tr key={a.key}>
                <td>{a.check}</td>
                <td>
                  <Badge value={a.phase} />
                  {a.reason && <div className="muted small">{a.reason}</div>}
                </td>
                <td>
                  {a.counts.passed} / {a.counts.failed} / {a.counts.inconclusive} / {a.counts.errors}
                </td>
                <td>
                  {a.last ? (
                    <>
                      {a.last.verdict}{' '}
                      {Object.entries(a.last.numbers)
                        .map(([k, v]) => `${k}=${num(v, 4)}`)
                        .join(' ')}
                      <div className="muted small">
                        {a.last.reason} · {time(a.last.at)}
                      </div>
                    </>
                  ) : (
                    '—'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function Instances({ s }: { s: ServiceStatus }) {
  return (
    <div className="panel">
      <h2>Instances</h2>
      <div className="scroll">
        <table data-testid="instances">
          <thead>
            <tr>
              <th>Instance</th>
              <th>Release</th>
              <th>State</th>
              <th>Healthy</th>
              <th className="wide">Restarts</th>
              <th className="wide">Started</th>
            </tr>
          </thead>
          <tbody>
            {s.instances.map((i) => (
              <tr key={i.id}>
                <td>{i.id}</td>
                <td>#{i.release}</td>
                <td>
                  {i.state}
                  {i.retiring ? ' (retiring)' : ''}
                </td>
                <td>{i.healthy ? 'yes' : 'no'}</td>
                <td className="wide">{i.restarts}</td>
                <td className="wide">{ago(i.startedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function History({ h }: { h: HistoryResponse | undefined }) {
  if (!h) return null;
  return (
    <div className="panel">
      <h2>Release history</h2>
      <div className="scroll">
        <table data-testid="history">
          <thead>
            <tr>
              <th>Release</th>
              <th>Outcome</th>
              <th>Who</th>
              <th>When</th>
              <th>Why</th>
            </tr>
          </thead>
          <tbody>
            {h.releases.map((r) => (
              <tr key={r.number} data-testid={`release-${r.number}`}>
                <td>
                  #{r.number}
                  {r.current && <span className="badge ok small">serving</span>}
                  {r.rollbackOf !== null && <span className="muted small"> rollback of #{r.rollbackOf}</span>}
                </td>
                <td>
                  <Badge value={r.outcome} />
                </td>
                <td>{r.createdBy}</td>
                <td>{time(r.createdAt)}</td>
                <td>{r.message || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
