/**
 * Typos are the user's mistake, at every level of the command tree: this walks the whole commander
 * program (every command and subcommand, every long flag, every argument and flag with a fixed set
 * of values) and runs a one-letter typo of each through the CLI in process. Each must exit 2 with
 * "did you mean <name>" on stderr, in the CLI's usual `error:` / `hint:` lines, and print nothing
 * on stdout. A command added later is walked too, so it cannot come without its suggestions.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, type Argument, type Option } from 'commander';
import { COMMANDS } from './commands/index.js';
import { makeOutput } from './output.js';
import { buildProgram } from './program.js';
import { runCli } from './run-cli.js';

/** `word` with its middle letter replaced: one edit away, the same length, never the word itself. */
function typo(word: string): string {
  const i = Math.floor(word.length / 2);
  return word.slice(0, i) + (word[i] === 'q' ? 'z' : 'q') + word.slice(i + 1);
}

/** A flag's name with a typo (`--wait` → `--wqit`); the `--` stays. */
const typoFlag = (long: string) => `--${typo(long.slice(2))}`;

interface Case {
  argv: string[];
  /** What stderr must suggest. */
  meant: string;
}

/** Every command below `cmd`, with the words that name it. */
function* commandsOf(cmd: Command, path: string[] = []): Generator<[Command, string[]]> {
  for (const sub of cmd.commands) {
    const p = [...path, sub.name()];
    yield [sub, p];
    yield* commandsOf(sub, p);
  }
}

/** The flags each command requires, as its registry entry declares them (buildProgram moves their check). */
const REQUIRED = new Map(
  COMMANDS.map((spec) => {
    const cmd = new Command(spec.name);
    spec.declare(cmd);
    return [spec.name, cmd.options.filter((o) => o.mandatory)];
  }),
);

/** A valid value for each flag the command at `path` requires but `except`. */
function requiredFlags(path: string[], except?: Option): string[] {
  return (REQUIRED.get(path.join(' ')) ?? []).filter((o) => o.long !== except?.long).flatMap((o) => [o.long!, o.argChoices?.[0] ?? 'x']);
}

function cases(): Case[] {
  const program = buildProgram(COMMANDS, makeOutput({ stdout: { write: () => true }, stderr: { write: () => true } }), () => undefined);
  const out: Case[] = [];
  // Global flags, before any command.
  for (const o of program.options.filter((o) => o.long)) out.push({ argv: [typoFlag(o.long!)], meant: o.long! });
  for (const [cmd, path] of commandsOf(program)) {
    const name = path.at(-1)!;
    out.push({ argv: [...path.slice(0, -1), typo(name)], meant: name });
    for (const o of cmd.options.filter((o) => o.long)) {
      out.push({ argv: [...path, typoFlag(o.long!), ...(o.flags.includes('<') ? ['x'] : []), ...requiredFlags(path, o)], meant: o.long! });
      if (o.flags.includes('<')) out.push({ argv: [...path, `${typoFlag(o.long!)}=x`, ...requiredFlags(path, o)], meant: o.long! });
      for (const value of o.argChoices ?? []) out.push({ argv: [...path, o.long!, typo(value), ...requiredFlags(path, o)], meant: value });
    }
    const args = cmd.registeredArguments as readonly Argument[];
    const chosen = args.findIndex((a) => a.argChoices?.length);
    if (chosen >= 0) {
      for (const value of args[chosen]!.argChoices!)
        out.push({ argv: [...path, ...args.slice(0, chosen).map(() => 'x'), typo(value), ...requiredFlags(path)], meant: value });
    }
  }
  return out;
}

describe('did you mean, everywhere in the command tree', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-typos-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a typo of every command, flag and fixed value exits 2 with its suggestion on stderr and nothing on stdout', async (t) => {
    const all = cases();
    const failures: string[] = [];
    for (const { argv, meant } of all) {
      let stdout = '';
      let stderr = '';
      // --dir: should a typo ever get through, the command runs in an empty folder, not in this checkout.
      const code = await runCli([...argv, '--dir', dir], {
        stdout: { write: (s: string) => (stdout += s) },
        stderr: { write: (s: string) => (stderr += s) },
      });
      const escaped = meant.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const ok =
        code === 2 &&
        stdout === '' &&
        new RegExp(`^error: .*\\(did you mean ${escaped}\\?\\)$`, 'm').test(stderr) &&
        /^hint: .*slipway/m.test(stderr);
      if (!ok)
        failures.push(`slipway ${argv.join(' ')}  (meant ${meant}): exit ${code}\n  stdout: ${stdout.trim()}\n  stderr: ${stderr.trim()}`);
    }
    t.diagnostic(`${all.length} typos walked`);
    assert.ok(all.length > 100, `walked only ${all.length} cases: is the tree built?`);
    assert.deepEqual(failures, [], `${failures.length} of ${all.length} typos without a suggestion:\n${failures.join('\n')}`);
  });
});
