import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControllerClient } from '../../client/client.js';
import { SlipwayError } from '../../core/errors.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';

/**
 * `slipway startup`: a systemd unit that runs the project's controller (`slipway server`) at boot,
 * as the current user. It is written, never enabled or started: the command prints how to.
 */
export const startup: CliCommand<{ print?: boolean; output?: string }> = {
  name: 'startup',
  summary: "Write a systemd unit that starts this project's controller at boot (prints how to enable it)",
  declare(cmd) {
    cmd.option('--print', 'print the unit on stdout and write nothing');
    cmd.option('--output <file>', 'write the unit there (default: /etc/systemd/system/ as root, else ~/.config/systemd/user/)');
  },
  examples: [
    'slipway startup                    # writes slipway-APP.service and prints the systemctl commands to enable it',
    'slipway startup --print            # only show the unit',
    'slipway startup --output ./x.service --json  # write it elsewhere; path and unit as JSON',
  ],
  async run({ dir, out, json }, _args, flags) {
    const { loadConfig, findConfigFile } = await import('../../config/load.js');
    const { config } = loadConfig(findConfigFile(dir));
    const system = process.getuid?.() === 0;
    const name = `slipway-${config.app.replace(/[^A-Za-z0-9_.-]/g, '-')}.service`;
    const unit = systemdUnit({ dir, app: config.app, system, user: userInfo().username });
    if (flags.print) {
      out.out(json ? JSON.stringify({ name, unit }, null, 2) : unit.trimEnd());
      return 0;
    }

    const path = resolve(
      flags.output ??
        (system
          ? join('/etc/systemd/system', name)
          : join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'systemd/user', name)),
    );
    // Never replace the unit of another project that happens to have the same app name.
    if (existsSync(path) && !readFileSync(path, 'utf8').includes(`\nWorkingDirectory=${unitValue(dir)}\n`)) {
      throw SlipwayError.of('STARTUP_UNIT_EXISTS', `${terminalLine(path)} exists and starts another project`, {
        hint: `Remove it if it is stale, or write this one elsewhere with --output (and give it another name), then enable that one.`,
      });
    }
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, unit, { mode: 0o644 });
    const ctl = system ? 'systemctl' : 'systemctl --user';
    const unitName = flags.output ? path.split('/').at(-1)! : name;
    if (json) {
      out.out(JSON.stringify({ name: unitName, path, unit }, null, 2));
      return 0;
    }
    out.out(`wrote ${terminalLine(path)}`);
    out.out('Not enabled yet. To start the controller at boot:');
    if (flags.output) out.out(`  ${ctl} link ${terminalLine(path)}`);
    out.out(`  ${ctl} daemon-reload && ${ctl} enable ${terminalLine(unitName)}`);
    if (!system) out.out(`  loginctl enable-linger ${terminalLine(userInfo().username)}   # user units start at boot only with lingering`);
    const running = ControllerClient.find(dir);
    out.out(
      running
        ? `A controller runs already (pid ${running.info.pid}); to hand over to the unit now: kill ${running.info.pid} (instances keep serving), then ${ctl} start ${terminalLine(unitName)}`
        : `To start it now too: ${ctl} start ${terminalLine(unitName)}`,
    );
    return 0;
  },
};

/** The CLI's own entry point, absolute (this file is dist/src/cli/commands/startup.js). */
function cliPath(): string {
  return fileURLToPath(new URL('../main.js', import.meta.url));
}

/** A unit file value: `%` starts a specifier in systemd, so it is doubled. */
function unitValue(s: string): string {
  return s.replace(/%/g, '%%');
}

/** One word of ExecStart or Environment=, quoted (systemd's own quoting: double quotes, backslash escapes). */
function quoted(s: string): string {
  return `"${unitValue(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A word of ExecStart=, where systemd also expands $VARIABLES: a literal $ is $$. */
function execWord(s: string): string {
  return quoted(s).replace(/\$/g, '$$$$');
}

export function systemdUnit(o: { dir: string; app: string; system: boolean; user: string }): string {
  const lines = [
    `# Written by \`slipway startup\` for ${o.dir}.`,
    '# Runs the controller in the foreground; it starts the router and the instances of every',
    '# serving release again after a reboot. Stopping this unit stops only the controller',
    '# (KillMode=process): the router and instances keep serving; `slipway down` stops them all.',
    '[Unit]',
    `Description=Slipway controller for ${unitValue(o.app.replace(/\n/g, ' '))} (${unitValue(o.dir)})`,
    ...(o.system ? ['After=network-online.target', 'Wants=network-online.target'] : []),
    '',
    '[Service]',
    'Type=simple',
    ...(o.system ? [`User=${o.user}`] : []),
    `WorkingDirectory=${unitValue(o.dir)}`,
    // Build commands (npm, make) run by deploys need the PATH they had when this was written.
    `Environment=${quoted(`PATH=${process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`)}`,
    `ExecStart=${execWord(process.execPath)} ${execWord(cliPath())} server --dir ${execWord(o.dir)}`,
    'Restart=on-failure',
    'RestartSec=2s',
    'KillMode=process',
    'TimeoutStopSec=60s',
    '',
    '[Install]',
    `WantedBy=${o.system ? 'multi-user.target' : 'default.target'}`,
    '',
  ];
  return lines.join('\n');
}
