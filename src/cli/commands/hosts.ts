import { dirname } from 'node:path';
import { terminalLine } from '../../core/terminal-text.js';
import type { Command } from 'commander';
import type { CliCommand } from '../context.js';
import type { Output } from '../output.js';
import { table } from '../output.js';
import type { HostReport } from '../../fleet/host-checks.js';

type HostsFlags = { trustNewHosts?: boolean; verbose?: boolean };

/** Loads the config and names the environment; the fleet code is loaded only when a hosts command runs. */
async function fleetContext(dir: string, env: string | undefined, out: Output, flags: HostsFlags) {
  const { findConfigFile, loadConfig } = await import('../../config/load.js');
  const { resolveEnvironmentName } = await import('../../config/environments.js');
  const { createLogger, silentLogger } = await import('../../core/logger.js');
  const { config, file } = loadConfig(findConfigFile(dir));
  const environment = resolveEnvironmentName(config, env);
  const logger = flags.verbose ? createLogger('ssh', (line) => out.err(line.trimEnd())) : silentLogger;
  return { config, projectDir: dirname(file), environment, opts: { logger, trustNewHosts: flags.trustNewHosts === true } };
}

const labels = (r: HostReport) =>
  Object.entries(r.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',') || '-';

/** Exit code of a hosts command: 0 every host fine, 1 at least one failed (each is named on stderr). */
function finish(reports: HostReport[], out: Output, json: boolean, what: string): number {
  const failed = reports.filter((r) => !r.ok);
  if (json) out.out(JSON.stringify({ ok: failed.length === 0, hosts: reports }, null, 2));
  for (const r of failed) {
    const why = r.error
      ? `${r.error.code}: ${r.error.message}`
      : r.checks
          .filter((c) => c.status === 'fail')
          .map((c) => `${c.name}: ${c.detail}`)
          .join('; ');
    out.err(`${out.paint('red', '✗')} ${terminalLine(r.host)}: ${terminalLine(why)}`);
    if (r.error?.hint) out.err(`  hint: ${terminalLine(r.error.hint)}`);
    for (const c of r.checks) if (c.status === 'fail' && c.hint) out.err(`  hint: ${terminalLine(c.hint)}`);
  }
  if (!json)
    out.err(failed.length ? `${failed.length} of ${reports.length} host(s) failed ${what}` : `${reports.length} host(s) passed ${what}`);
  return failed.length ? 1 : 0;
}

export const hosts: CliCommand<HostsFlags> = {
  name: 'hosts',
  summary: "List the environment's servers with reachability, runtime, layout and releases (over SSH, no controller)",
  declare: declareVerbose,
  examples: ['slipway hosts --env production', 'slipway hosts --env production --json --verbose'],
  async run({ dir, env, out, json }, _args, flags) {
    const ctx = await fleetContext(dir, env, out, flags);
    const { listHosts } = await import('../../fleet/host-checks.js');
    const reports = await listHosts(ctx.config, ctx.projectDir, ctx.environment, ctx.opts);
    if (!json)
      out.out(
        table([
          ['HOST', 'LABELS', 'REACHABLE', 'HOSTNAME', 'RUNTIME', 'LAYOUT', 'RELEASES'],
          ...reports.map((r) => [
            terminalLine(r.host),
            terminalLine(labels(r)),
            r.reachable ? out.paint('green', 'yes') : out.paint('red', `no (${r.error?.code ?? '?'})`),
            terminalLine(r.hostname ?? '-'),
            r.runtime ? runtimeText(r.runtime) : '-',
            r.layout === undefined ? '-' : String(r.layout),
            r.releases === undefined ? '-' : String(r.releases.length),
          ]),
        ]),
      );
    return finish(reports, out, json, 'the listing');
  },
};

/** Runtimes that answer; a container CLI that does not is named as such ("docker CLI without an engine"). */
function runtimeText(rt: NonNullable<HostReport['runtime']>): string {
  const names = (['node', 'podman', 'docker'] as const).filter((k) => rt[k]);
  const silent = [
    ...(rt.unanswered?.podman !== undefined ? ['podman CLI not answering'] : []),
    ...(rt.unanswered?.docker !== undefined ? ['docker CLI without an engine'] : []),
  ];
  const found = [...names, ...(rt.systemd ? ['systemd'] : []), ...silent].join(',') || 'none';
  return rt.containers ? `${found} (containers: ${rt.containers})` : found;
}

function checkTable(reports: HostReport[], out: Output): string {
  const mark = (s: string) =>
    s === 'ok' ? out.paint('green', 'ok') : s === 'warn' ? out.paint('yellow', 'warn') : out.paint('red', 'FAIL');
  return table([
    ['HOST', 'CHECK', 'RESULT', 'DETAIL'],
    ...reports.flatMap((r) =>
      r.checks.map((c, i) => [i === 0 ? terminalLine(r.host) : '', c.name, mark(c.status), terminalLine(c.detail)]),
    ),
  ]);
}

/** Every hosts command can log its remote commands. */
function declareVerbose(cmd: Command): void {
  cmd.option('--verbose', 'log every remote command (host, exit code, duration) to stderr');
}

/** Commands that act on hosts may also pin the key of a host seen for the first time. */
function declareConnecting(cmd: Command): void {
  cmd.option('--trust-new-hosts', 'pin the key of a host known_hosts does not list (first use); a changed key is still refused');
  declareVerbose(cmd);
}

export const hostsCheck: CliCommand<HostsFlags> = {
  name: 'hosts check',
  summary: 'Check SSH, host key, tools, runtime, disk, ports and layout on every server before a deploy',
  declare: declareConnecting,
  examples: ['slipway hosts check --env production', 'slipway hosts check --env production --trust-new-hosts --json --verbose'],
  async run({ dir, env, out, json }, _args, flags) {
    const ctx = await fleetContext(dir, env, out, flags);
    const { checkHosts } = await import('../../fleet/host-checks.js');
    const reports = await checkHosts(ctx.config, ctx.projectDir, ctx.environment, ctx.opts);
    if (!json) out.out(checkTable(reports, out));
    return finish(reports, out, json, 'the checks');
  },
};

export const hostsSetup: CliCommand<HostsFlags> = {
  name: 'hosts setup',
  summary: "Install Slipway's host layout and agent on every server (idempotent; upgrades an agent of another version), then check them",
  declare: declareConnecting,
  examples: ['slipway hosts setup --env production', 'slipway hosts setup --env production --trust-new-hosts --json --verbose'],
  async run({ dir, env, out, json }, _args, flags) {
    const ctx = await fleetContext(dir, env, out, flags);
    const { setupHosts } = await import('../../fleet/host-checks.js');
    const reports = await setupHosts(ctx.config, ctx.projectDir, ctx.environment, ctx.opts);
    if (!json) out.out(checkTable(reports, out));
    return finish(reports, out, json, 'setup');
  },
};

export const hostsGc: CliCommand<HostsFlags> = {
  name: 'hosts gc',
  summary: "Remove old releases and unused stored files from every server's store (keeps what runs and the newest keepReleases)",
  declare: declareVerbose,
  examples: ['slipway hosts gc --env production', 'slipway hosts gc --env production --json'],
  async run({ dir, env, out, json }, _args, flags) {
    const ctx = await fleetContext(dir, env, out, flags);
    const { gcHosts } = await import('../../fleet/host-gc.js');
    const hosts = await gcHosts(ctx.config, ctx.projectDir, ctx.environment, ctx.opts);
    const failed = hosts.filter((h) => h.error);
    if (json) out.out(JSON.stringify({ ok: failed.length === 0, hosts }, null, 2));
    else
      out.out(
        table([
          ['HOST', 'REMOVED', 'KEPT', 'IN USE', 'FILES REMOVED'],
          ...hosts.map((h) =>
            h.result
              ? [
                  terminalLine(h.host),
                  String(h.result.removed.length),
                  String(h.result.kept.length),
                  String(h.result.kept.filter((k) => k.inUse).length),
                  h.result.filesRemoved === null ? 'later (a ship is in flight)' : String(h.result.filesRemoved),
                ]
              : [terminalLine(h.host), out.paint('red', 'FAIL'), '-', '-', '-'],
          ),
        ]),
      );
    for (const h of failed)
      out.err(`${out.paint('red', '✗')} ${terminalLine(h.host)}: ${terminalLine(`${h.error!.code}: ${h.error!.message}`)}`);
    return failed.length ? 1 : 0;
  },
};
