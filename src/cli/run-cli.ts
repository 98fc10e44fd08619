/**
 * One run of the CLI on `argv`: commander parses it against the registry (commands/index.ts), the
 * command runs, and every error becomes a message, a hint and an exit code (docs/errors.md) on
 * `io.stderr` (or as JSON on stdout with --json). main.ts runs it on the process; tests run it in
 * process with streams of their own.
 */
import { SlipwayError } from '../core/errors.js';
import { terminalText } from '../core/terminal-text.js';
import { formatProblems } from '../config/format.js';
import type { ConfigProblem } from '../config/problem.js';
import { makeOutput, type OutStream, type Output } from './output.js';
import { buildProgram, helpArgv, isHelpOrVersion, type Run } from './program.js';
import { COMMANDS } from './commands/index.js';

/** Resolves to the exit code. */
export async function runCli(argv: string[], io: { stdout?: OutStream; stderr?: OutStream } = {}): Promise<number> {
  // Known before parsing (commander declares them too), so that a parse error is reported the way the user asked for.
  // Only Slipway's own flags count: after `--` come a command's arguments (slipway exec web -- x --json).
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  const json = own.includes('--json');
  const out = makeOutput({ noColor: own.includes('--no-color'), ...io });
  let run: Run | undefined;
  const program = buildProgram(COMMANDS, out, (r) => {
    run = r;
  });
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 0;
    }
    if (argv[0] === 'help' && argv[1] && !argv[1].startsWith('-')) argv = helpArgv(program, argv.slice(1));
    await program.parseAsync(argv, { from: 'user' });
    return run ? await run() : 0;
  } catch (err) {
    if (isHelpOrVersion(err)) return 0;
    const command = argv.find((a) => program.commands.some((c) => c.name() === a));
    const code = report(err, out, json, command);
    // `plan --detailed-exitcode` (Terraform's convention): 2 means "changes", so every error is 1.
    return own.includes('--detailed-exitcode') ? 1 : code;
  }
}

function report(err: unknown, out: Output, json: boolean, command: string | undefined): number {
  let e = SlipwayError.from(err);
  // Every error says what to do next; when the one raised has no hint, point at the command's help.
  if (!e.hint && e.kind !== 'internal') {
    e = new SlipwayError(e.kind, e.code, e.message, {
      ...e.options,
      hint: command
        ? `See \`slipway ${command} --help\`; \`slipway status\` and \`slipway history SERVICE\` show where things stand.`
        : 'See `slipway help`.',
    });
  }
  out.done();
  if (json) {
    out.out(JSON.stringify(e.toBody(), null, 2));
    return e.exitCode;
  }
  const problems = (e.details as { problems?: ConfigProblem[] } | undefined)?.problems;
  // Messages quote input (names, flags, files): shown as text, never as terminal commands.
  out.err(`${out.paint('red', 'error:')} ${terminalText(e.message)}`);
  if (problems?.length) out.err(formatProblems(problems, { color: out.color }));
  if (e.hint) out.err(`${out.paint('dim', 'hint:')} ${terminalText(e.hint)}`);
  if (e.kind === 'internal' && err instanceof Error && err.stack) out.err(out.paint('dim', terminalText(err.stack)));
  return e.exitCode;
}
