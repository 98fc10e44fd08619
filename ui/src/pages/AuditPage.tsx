/** The audit log: who did what, when, to what, why, and how it ended (newest first); every environment the token may see, and project-wide changes (tokens). */
import type { AuditResponse } from '../../../src/api/access-types.js';
import { ErrorBox } from '../App.js';
import { useLive } from '../live.js';
import { Badge } from '../parts/Health.js';
import { time } from '../format.js';

export function AuditPage() {
  const { data, error } = useLive<AuditResponse>('/v1/audit?limit=200', { periodMs: 3000, evented: true });
  const entries = data ? [...data.entries].sort((a, b) => b.at - a.at || b.id - a.id) : [];
  return (
    <section>
      <h1>Audit log</h1>
      {error && <ErrorBox error={error} />}
      {data && entries.length === 0 && <p className="muted">Nothing recorded yet.</p>}
      {entries.length > 0 && (
        <div className="scroll">
          <table data-testid="audit">
            <thead>
              <tr>
                <th>When</th>
                <th>Who</th>
                <th>Action</th>
                <th>Target</th>
                <th>Outcome</th>
                <th className="wide">Reason</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id}>
                  <td>{time(e.at)}</td>
                  <td>{e.actor}</td>
                  <td>{e.action}</td>
                  <td>{[e.environment, e.service].filter(Boolean).join(' / ') || 'project'}</td>
                  <td>
                    <Badge value={e.outcome} />
                  </td>
                  <td className="wide">{e.reason || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
