/**
 * The command tree, built with commander from the registry (commands/index.ts): global flags,
 * one subcommand per CliCommand, help with examples, and every parse problem (unknown command or
 * flag, missing or bad value, extra argument, contradicting flags) turned into a USAGE error
 * (exit 2) that says what was wrong, suggests what was meant and names the help to read.
 */
import { existsSync, statSync } from 'node:fs';
import { Command, CommanderError, type Option } from 'commander';
import { closest } from '../config/suggest.js';
import { SlipwayError } from '../core/errors.js';
import { terminalLine } from '../core/terminal-text.js';
import { projectDir, type CliCommand, type CommandContext } from './context.js';
import type { Output } from './output.js';

export const VERSION = '0.1.0';

/** What the parsed command line resolved to: run it to get the exit code. */
export type Run = () => Promise<number>;

/** Global flags, accepted before or after the command name. */
interface GlobalFlags {
  dir?: string;
  json?: boolean;
  env?: string;
}

/** `out` is shared with the caller, so an error printed after a progress line ends that line first. */
export function buildProgram(commands: readonly CliCommand[], out: Output, onRun: (run: Run) => void): Command {
  const program = new Command('slipway')
    .description('Deploy services with zero failed requests, and roll them back.')
    .usage('COMMAND [args] [--dir DIR] [--env ENV] [--json] [--no-color]')
    .version(`slipway ${VERSION}`, '-V, --version', 'print the version')
    .option('--dir <dir>', 'project directory holding slipway.yaml (default: the current directory)')
    .option('--json', 'machine-readable output on stdout (and errors as JSON)')
    .option('--env <name>', "environment to act on (default: slipway.yaml's default:, else its only one)")
    .option('--no-color', 'no colours (NO_COLOR is respected too)')
    .helpOption('-h, --help', 'show help for a command')
    .helpCommand('help [command]', 'show help for a command, with examples')
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .addHelpText('after', '\nRun `slipway help COMMAND` (or `slipway COMMAND --help`) for its flags and examples.');
  fail(program, 'Run `slipway help` to see every command.');

  const groupExamples = new Map<Command, string[]>();
  const required = new Set<Option>();
  for (const spec of commands) {
    // "state restore" is the command restore of the group state (created by its first command).
    const words = spec.name.split(' ');
    const parent = words.length > 1 ? group(program, words.slice(0, -1)) : program;
    if (parent !== program) groupExamples.set(parent, [...(groupExamples.get(parent) ?? []), ...spec.examples]);
    const cmd = new Command(words.at(-1)).description(spec.summary).helpOption('-h, --help', 'show this help');
    spec.declare(cmd);
    // commander checks required flags before unknown ones: `--rloe admin` would read "required option
    // '--role' not specified". Checked in preAction instead, so a misspelt flag gets its "did you mean".
    for (const o of cmd.options.filter((o) => o.mandatory)) {
      o.mandatory = false;
      required.add(o);
    }
    cmd.showSuggestionAfterError(true).allowExcessArguments(false).allowUnknownOption(false);
    cmd.configureHelp({ showGlobalOptions: true });
    if (spec.examples.length) cmd.addHelpText('after', `\nExamples:\n${spec.examples.map((e) => `  ${e}`).join('\n')}`);
    fail(cmd, `Run \`slipway ${spec.name} --help\` for its arguments, flags and examples.`);
    cmd.action(async (...params: unknown[]) => {
      // commander passes the declared positionals (a variadic one as an array), then flags, then the command.
      const positionals = params
        .slice(0, cmd.registeredArguments.length)
        .flatMap((p) => (p === undefined ? [] : Array.isArray(p) ? (p as string[]) : [String(p)]));
      const flags = cmd.opts();
      const global = cmd.optsWithGlobals<GlobalFlags>();
      onRun(() => spec.run(context(global, program, out), positionals, flags));
    });
    parent.addCommand(cmd);
    // A group that is a command of its own (`hosts`, with `hosts check`) keeps its summary.
    if (parent !== program && !commands.some((c) => c.name === words.slice(0, -1).join(' ')))
      parent.description(`${parent.commands.map((c) => c.name()).join(', ')} (see \`slipway help ${words.slice(0, -1).join(' ')}\`)`);
  }

  // A group's help shows its commands' examples, so `slipway help state` is as useful as theirs.
  for (const [g, examples] of groupExamples) g.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}`);

  // rawArgs is commander's copy of the argv it parsed (set by parse, not in its typings).
  program.hook('preAction', (_program, action) => {
    for (const o of action.options.filter((o) => required.has(o) && action.getOptionValue(o.attributeName()) === undefined))
      action.error(`error: required option '${o.flags}' not specified`, { code: 'commander.missingMandatoryOptionValue' });
    contradictions(action, (program as unknown as { rawArgs: string[] }).rawArgs);
  });
  return program;
}

/** The group command for `path` ("state" of "state restore"), created on first use. */
function group(program: Command, path: string[]): Command {
  let parent = program;
  for (const [i, name] of path.entries()) {
    let g = parent.commands.find((c) => c.name() === name);
    if (!g) {
      const full = path.slice(0, i + 1).join(' ');
      g = new Command(name)
        .helpOption('-h, --help', 'show this help')
        .showSuggestionAfterError(true)
        .configureHelp({ showGlobalOptions: true });
      fail(g, `Run \`slipway ${full} --help\` to see its commands.`);
      parent.addCommand(g);
    }
    parent = g;
  }
  return parent;
}

function context(global: GlobalFlags, program: Command, out: Output): CommandContext {
  const dir = projectDir(global.dir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw SlipwayError.of('PROJECT_DIR_NOT_FOUND', `--dir ${terminalLine(dir)}: no such directory`, {
      hint: `Create it first (mkdir -p ${terminalLine(dir)}) or pass the directory that holds slipway.yaml with --dir.`,
    });
  }
  return { dir, json: !!global.json, ...(global.env !== undefined ? { env: global.env } : {}), out, program };
}

/** `--wait --no-wait` (any flag with its own negation) is a contradiction, not "the last one wins". */
function contradictions(cmd: Command, argv: readonly string[]): void {
  for (const negated of cmd.options.filter((o) => o.negate && o.long)) {
    const positive = negated.long!.replace(/^--no-/, '--');
    const given = cmd.options.find((o) => o.long === positive);
    if (given && [given.long, given.short].some((f) => f && argv.includes(f)) && argv.includes(negated.long!)) {
      throw SlipwayError.of('USAGE', `${positive} and ${negated.long} contradict each other`, {
        hint: `Give one of them; see \`slipway ${cmd.name()} --help\`.`,
      });
    }
  }
}

/**
 * The command line for `slipway help NAME [SUB…]`: `NAME [SUB…] --help`, or, where a word names no
 * command, the words up to it without `--help`, so that parsing says "unknown command … (did you mean …?)".
 */
export function helpArgv(program: Command, words: string[]): string[] {
  let cmd = program;
  for (const [i, word] of words.entries()) {
    if (word.startsWith('-') || !cmd.commands.length) break;
    const sub = cmd.commands.find((c) => c.name() === word);
    if (!sub) return words.slice(0, i + 1);
    cmd = sub;
  }
  return [...words, '--help'];
}

/** The long flags `cmd` accepts: its own and those of the commands above it. */
function flagsOf(cmd: Command): string[] {
  const longs: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) longs.push(...c.options.flatMap((o) => (o.long ? [o.long] : [])));
  return longs;
}

/** Makes commander throw instead of printing and exiting, so main prints every error one way. */
function fail(cmd: Command, hint: string): void {
  cmd.exitOverride((err) => {
    throw usageError(err, cmd, hint);
  });
  cmd.configureOutput({ outputError: () => undefined });
}

/** Help and version "errors" are not errors: they keep commander's own exit code 0. */
export function isHelpOrVersion(err: unknown): boolean {
  return err instanceof CommanderError && ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code);
}

function usageError(err: CommanderError, cmd: Command, hint: string): Error {
  if (isHelpOrVersion(err)) return err;
  // "error: unknown option '--wiat'\n(Did you mean --wait?)" → "unknown option '--wiat' (did you mean --wait?)"
  let message = err.message
    .replace(/^error: /, '')
    .replace(/\n\(Did you mean (.*)\?\)/, ' (did you mean $1?)')
    .replace(/ is invalid\. /, ' is invalid: ')
    .replace(/\n/g, ' ');
  if (err.code === 'commander.excessArguments' && cmd.commands.length) {
    // A command with subcommands and an action of its own (`hosts`, `hosts check`) reads a misspelt
    // subcommand as an argument it does not take: say what was meant.
    const word = cmd.args[cmd.registeredArguments.length];
    const near =
      word === undefined
        ? undefined
        : closest(
            word,
            cmd.commands.map((c) => c.name()),
          );
    if (near) message = `unknown command '${word}' (did you mean ${near}?)`;
  }
  const choice = /'([^']*)' is invalid.*Allowed choices are (.*)\.$/.exec(message);
  if (err.code === 'commander.invalidArgument' && choice) {
    // A value outside a flag's or argument's `.choices()`: name the one meant.
    const near = closest(choice[1]!, choice[2]!.split(', '));
    if (near) message = `${message.slice(0, -1)} (did you mean ${near}?)`;
  }
  const eq = /^unknown option '(--[^=']+)=/.exec(message);
  if (eq && err.code === 'commander.unknownOption') {
    // `--wait=true`: a switch given a value. Say so rather than "unknown option".
    const flag = [...cmd.options, ...(cmd.parent?.options ?? [])].find((o) => o.long === eq[1] && o.isBoolean());
    if (flag) {
      const negation = [...cmd.options, ...(cmd.parent?.options ?? [])].find((o) => o.long === `--no-${eq[1]!.slice(2)}`);
      message = `${eq[1]} is a switch and takes no value (got ${message.slice('unknown option '.length)}); write ${eq[1]}${negation ? ` or ${negation.long}` : ''}`;
    } else {
      // `--rloe=admin`: commander compares the whole word, value included, and finds nothing near.
      const near = closest(eq[1]!, flagsOf(cmd));
      if (near) message += ` (did you mean ${near}?)`;
    }
  }
  return SlipwayError.of('USAGE', terminalLine(message), { hint, details: { commanderCode: err.code } });
}
