import { resolve } from 'node:path';
import type { Output } from './output.js';

/** What every command receives: parsed global flags and the output. */
export interface CommandContext {
  /** The project directory (holds slipway.yaml and .slipway/). */
  dir: string;
  json: boolean;
  out: Output;
  /** Arguments after the command name, global flags removed. */
  args: string[];
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Returns the exit code. */
  run(ctx: CommandContext): Promise<number>;
}

export function projectDir(dir: string | undefined): string {
  return resolve(dir ?? process.cwd());
}
