#!/usr/bin/env node
/**
 * The slipway CLI: parses global flags, looks the command up in the registry, runs it, and turns
 * errors into a message, a hint and an exit code (see docs/errors.md).
 */
import { SlipwayError } from '../core/errors.js';
import { formatProblems } from '../config/format.js';
import type { ConfigProblem } from '../config/problem.js';
import { projectDir, type Command } from './context.js';
import { makeOutput } from './output.js';
import { up } from './commands/up.js';
import { down } from './commands/down.js';
import { deploy } from './commands/deploy.js';
import { rollback } from './commands/rollback.js';
import { status } from './commands/status.js';
import { history } from './commands/history.js';
import { logs } from './commands/logs.js';
import { validate } from './commands/validate.js';
import { server } from './commands/server.js';
import { init } from './commands/init.js';
import { promote, pause, resume, abort, retry } from './commands/rollout-control.js';
import { state } from './commands/state.js';

const COMMANDS = new Map<string, Command>([init, up, deploy, status, history, rollback, promote, pause, resume, abort, retry, logs, validate, down, server, state].map((c) => [c.name, c]));

function help(): string {
  const width = Math.max(...[...COMMANDS.keys()].map((k) => k.length));
  return [
    'slipway: deploy services with zero failed requests, and roll them back.',
    '',
    'Usage: slipway COMMAND [args] [--dir DIR] [--json] [--no-color]',
    '',
    'Commands:',
    ...[...COMMANDS.values()].map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global flags:',
    '  --dir DIR    project directory holding slipway.yaml (default: the current directory)',
    '  --json       machine-readable output on stdout (read commands)',
    '  --no-color   no colours (NO_COLOR is respected too)',
    '',
    'Run `slipway COMMAND --help` for a command\'s usage.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  let dir: string | undefined;
  let json = false;
  let noColor = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--dir') dir = argv[++i];
    else if (a.startsWith('--dir=')) dir = a.slice(6);
    else if (a === '--json') json = true;
    else if (a === '--no-color') noColor = true;
    else rest.push(a);
  }
  const out = makeOutput({ noColor });
  const [name, ...args] = rest;
  if (!name || name === 'help' || name === '--help' || name === '-h') { out.out(help()); return 0; }
  if (name === '--version' || name === 'version') { out.out('slipway 0.1.0'); return 0; }
  const command = COMMANDS.get(name);
  if (!command) {
    out.err(`unknown command "${name}"`);
    out.err(help());
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) { out.out(`${command.summary}\n\nUsage: ${command.usage}`); return 0; }
  try {
    return await command.run({ dir: projectDir(dir), json, out, args });
  } catch (err) {
    const e = SlipwayError.from(err);
    out.done();
    if (json) {
      process.stdout.write(JSON.stringify(e.toBody(), null, 2) + '\n');
    } else {
      const problems = (e.details as { problems?: ConfigProblem[] } | undefined)?.problems;
      out.err(`${out.paint('red', 'error:')} ${e.message}`);
      if (problems?.length) out.err(formatProblems(problems, { color: out.color }));
      if (e.hint) out.err(`${out.paint('dim', 'hint:')} ${e.hint}`);
      if (e.kind === 'internal' && err instanceof Error && err.stack) out.err(out.paint('dim', err.stack));
    }
    return e.exitCode;
  }
}

// A reader that goes away (`slipway status | head`) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(0); throw err; });

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err); process.exitCode = 70; },
);
