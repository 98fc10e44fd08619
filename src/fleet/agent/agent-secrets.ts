/**
 * The values of a release's secrets on a host (ADR 0026, "Images and secrets on hosts"). The
 * controller decrypts them and sends them with the host's roll, over the SSH stream only; the
 * agent keeps them in one file per service and release, `<agent>/secrets/<service>@<release>.json`,
 * mode 0600 in a 0700 directory, so that every start of an instance finds them: a restart after a
 * crash, an agent restarted (it adopts), a host that booted (the agent restarts what it recorded)
 * with no controller connected. A file goes once no instance of its release is left on the host.
 *
 * Never in the instance's spec (instances.json), a command line, the agent's log or an answer.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import type { InstanceSpec } from '../../drivers/driver.js';

export class AgentSecrets {
  constructor(readonly dir: string) {}

  private file(service: string, release: number): string {
    return posix.join(this.dir, `${service}@${release}.json`);
  }

  /** Keeps the values of a release (replacing what was kept for it); written whole, 0600 from the start. */
  put(service: string, release: number, values: Record<string, string>): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const path = this.file(service, release);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(values), { mode: 0o600 });
    renameSync(tmp, path);
  }

  /** The values an instance's spec names, for its start; refuses naming the missing ones (never a value). */
  async envFor(spec: InstanceSpec): Promise<Record<string, string>> {
    const names = spec.secrets ?? [];
    if (names.length === 0) return {};
    let kept: Record<string, string>;
    try {
      kept = JSON.parse(readFileSync(this.file(spec.service, spec.release), 'utf8')) as Record<string, string>;
    } catch {
      kept = {};
    }
    const missing = names.filter((n) => kept[n] === undefined);
    if (missing.length)
      throw SlipwayError.of(
        'FLEET_ROLL_FAILED',
        `this host has no value of ${missing.join(', ')} for release ${spec.release} of ${spec.service}`,
        {
          hint: 'Deploy the release again from the controller: it sends the values with the roll.',
        },
      );
    return Object.fromEntries(names.map((n) => [n, kept[n]!]));
  }

  /** Removes the files of releases no instance runs any more (`live`: `service@release` of every instance). */
  prune(live: Set<string>): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const n of names)
      if (n.endsWith('.json') && !live.has(n.slice(0, -'.json'.length))) rmSync(posix.join(this.dir, n), { force: true });
  }
}
