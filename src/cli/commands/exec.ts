import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { ControllerClient } from '../../client/client.js';
import { SlipwayError } from '../../core/errors.js';
import { terminalLine } from '../../core/terminal-text.js';
import type { CliCommand } from '../context.js';

/**
 * Runs a one-off command as an instance of the serving release would run: in its release
 * directory, with the service's env, its secrets and SLIPWAY_* (read from the controller, so
 * exactly what instances get; secrets decrypted here with this user's key), but without PORT. It runs here, attached to this terminal, and its exit code
 * is this command's exit code; Slipway's own failures print `error:` and `hint:` lines instead.
 */
export const exec: CliCommand = {
  name: 'exec',
  summary: "Run a one-off command in the serving release's directory and environment (exit code passed through)",
  declare(cmd) {
    cmd.argument('<service>', 'service name from slipway.yaml');
    cmd.argument('<command...>', 'the command and its arguments, after -- (no shell: use sh -c "…" for one)');
  },
  examples: [
    'slipway exec web -- node scripts/migrate.js   # in the release directory, with the service env',
    "slipway exec web -- sh -c 'echo $SLIPWAY_RELEASE'  # a shell, for pipes and variables",
    'slipway exec web -- node                       # an interactive REPL: stdin is attached',
  ],
  async run({ dir, env: environment }, [service, file, ...args]) {
    const ctx = await ControllerClient.connect(dir, environment).execContext(service!);
    // The release's secrets come as ciphertext and are decrypted here, with this user's key.
    const secrets = ctx.secrets
      ? await (
          await import('../../secrets/release-secrets.js')
        ).decryptSnapshot(ctx.secrets.app, { hash: '', values: ctx.secrets.values }, ctx.secrets.environment)
      : {};
    const env: NodeJS.ProcessEnv = { ...process.env, ...ctx.env, ...secrets };
    delete env.PORT;
    const child = spawn(file!, args, { cwd: ctx.dir, env, stdio: 'inherit' });
    // Ctrl-C reaches the command from the terminal (same process group); a signal sent to this
    // process alone is passed on, so that a supervisor stopping `slipway exec` stops the command.
    const forward = (sig: NodeJS.Signals) => () => {
      child.kill(sig);
    };
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map(
      (sig) => [sig, sig === 'SIGINT' ? () => undefined : forward(sig)] as const,
    );
    for (const [sig, h] of handlers) process.on(sig, h);
    try {
      return await new Promise<number>((resolve, reject) => {
        child.once('error', (err: NodeJS.ErrnoException) => {
          const what = terminalLine(file);
          reject(
            err.code === 'ENOENT'
              ? SlipwayError.of('EXEC_COMMAND_NOT_FOUND', `${what}: no such command in ${terminalLine(ctx.dir)} or on PATH`, {
                  hint: `Give a program on PATH or a path relative to the release directory (./bin/task); for a shell command: slipway exec ${terminalLine(service)} -- sh -c '…'`,
                })
              : SlipwayError.of('EXEC_START_FAILED', `${what} could not be started: ${err.message}`, {
                  hint: 'Check that it is an executable file (chmod +x) the current user may run.',
                }),
          );
        });
        // As a shell reports it: the command's own code, or 128 + the number of the signal that ended it.
        child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)));
      });
    } finally {
      for (const [sig, h] of handlers) process.off(sig, h);
    }
  },
};
