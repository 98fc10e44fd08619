/**
 * The command tree from the registry: a command is one CliCommand in the list, nested ones
 * ("state restore") included, and parse mistakes come back as USAGE errors naming the help to read.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SlipwayError } from '../core/errors.js';
import { COMMANDS } from './commands/index.js';
import { completionScript } from './completion-script.js';
import type { CliCommand } from './context.js';
import { makeOutput } from './output.js';
import { buildProgram, type Run } from './program.js';

const quiet = makeOutput({ stdout: { write: () => true }, stderr: { write: () => true } });

async function parse(commands: readonly CliCommand[], argv: string[]): Promise<number> {
  let run: Run | undefined;
  const program = buildProgram(commands, quiet, (r) => {
    run = r;
  });
  await program.parseAsync(argv, { from: 'user' });
  return run!();
}

describe('command tree', () => {
  it('has one command per registry entry, each named once', () => {
    const names = COMMANDS.map((c) => c.name);
    assert.equal(new Set(names).size, names.length);
    const program = buildProgram(COMMANDS, quiet, () => undefined);
    // Nested entries ("state list", "state restore") share one top-level command.
    assert.deepEqual(
      program.commands.map((c) => c.name()).filter((n) => n !== 'help'),
      [...new Set(names.map((n) => n.split(' ')[0]!))],
    );
  });

  it('a nested command is one more registry entry: parsed, helped and completed like the others', async () => {
    let seen: unknown;
    const restore: CliCommand<{ force?: boolean }> = {
      name: 'demo restore',
      summary: 'Restore the state from a backup',
      declare(cmd) {
        cmd.argument('<backup>', 'backup file');
        cmd.option('--force', 'overwrite');
      },
      examples: ['slipway demo restore backup.tar --force'],
      async run(ctx, args, flags) {
        seen = { args, flags, json: ctx.json };
        return 0;
      },
    };
    const commands = [...COMMANDS, restore as CliCommand];
    assert.equal(await parse(commands, ['demo', 'restore', 'b.tar', '--force', '--json']), 0);
    assert.deepEqual(seen, { args: ['b.tar'], flags: { force: true }, json: true });
    await assert.rejects(
      parse(commands, ['demo', 'restor']),
      (e: SlipwayError) => e.code === 'USAGE' && /did you mean restore\?/.test(e.message) && /slipway demo --help/.test(e.hint!),
    );
    await assert.rejects(
      parse(commands, ['demo', 'restore', 'a', 'b']),
      (e: SlipwayError) => e.exitCode === 2 && /slipway demo restore --help/.test(e.hint!),
    );
    const bash = completionScript(
      buildProgram(commands, quiet, () => undefined),
      'bash',
    );
    assert.match(bash, /demo\) flags="--force --help -h"; args=\$\(compgen -W "restore"/);
  });
});
