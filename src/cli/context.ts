import { resolve } from 'node:path';
import type { Command as CommanderCommand } from 'commander';
import type { Output } from './output.js';

/** What every command receives: the parsed global flags and the output. */
export interface CommandContext {
  /** The project directory (holds slipway.yaml and .slipway/); checked to exist. */
  dir: string;
  /** `--json`: machine-readable output on stdout and nothing else there. */
  json: boolean;
  /** `--env`: the environment the command acts on (default: the config's `default:`, else its only one). */
  env?: string;
  out: Output;
  /** The whole command tree (the completion command reads it). */
  program: CommanderCommand;
}

/**
 * One CLI command. Its file declares the arguments and flags (commander parses and checks them),
 * turns them into the controller's own request type and renders the answer: no business logic.
 * Adding a command is one file plus one line in commands/index.ts.
 */
export interface CliCommand<Flags = Record<string, unknown>> {
  name: string;
  /** One line for `slipway help`. */
  summary: string;
  /** Declares positional arguments and flags on the commander command (no behaviour). */
  declare(cmd: CommanderCommand): void;
  /** Shown under "Examples:" in `slipway help NAME`; together they use every flag of the command. */
  examples: string[];
  /** Runs with the checked positionals and flags; resolves to the exit code. */
  run(ctx: CommandContext, args: string[], flags: Flags): Promise<number>;
}

export function projectDir(dir: string | undefined): string {
  return resolve(dir ?? process.cwd());
}
