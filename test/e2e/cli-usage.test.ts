/**
 * People's mistakes on the command line are theirs, not bugs: each bad invocation below runs
 * through the real built CLI and must exit with its documented code (2 for usage, 3 not found,
 * 6 no controller), print no stack trace and no "bug in Slipway", and say what to do next.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { TestProject, type CliResult } from '../support/project.js';

type Row = [args: string[], code: number, message?: RegExp];

const MISSING = join('/nonexistent-slipway-dir', 'deeper');

/** Mistakes caught before anything runs: no project, no controller needed. */
const PARSE: Row[] = [
  [['deplyo', 'web'], 2, /unknown command 'deplyo' \(did you mean deploy\?\)/],
  [['stauts'], 2, /did you mean status\?/],
  [['rollbak', 'web'], 2, /did you mean rollback\?/],
  [['help', 'deplyo'], 2, /did you mean deploy\?/],
  [['deploy', 'web', '--wiat'], 2, /unknown option '--wiat' \(did you mean --wait\?\)/],
  [['logs', 'web', '--folow'], 2, /did you mean --follow\?/],
  [['status', '--jsn'], 2, /did you mean --json\?/],
  [['promote', 'web', '--ful'], 2, /did you mean --full\?/],
  [['abort', 'web', '--reasn', 'x'], 2, /did you mean --reason\?/],
  [['history', 'web', '--limt', '3'], 2, /did you mean --limit\?/],
  [['-x'], 2, /unknown option '-x'/],
  [['rollback', 'web', '--to'], 2, /option '--to <release>' argument missing/],
  [['deploy', 'web', '--message'], 2, /argument missing/],
  [['--dir'], 2, /option '--dir <dir>' argument missing/],
  [['deploy', 'web', '--wait=true'], 2, /--wait is a switch and takes no value.*write --wait or --no-wait/],
  [['rollback', 'web', '--to', 'abc'], 2, /'abc' is invalid: expected a release number/],
  [['rollback', 'web', '--to', '0'], 2, /expected a release number/],
  [['rollback', 'web', '--to', '1.5'], 2, /expected a release number/],
  [['logs', 'web', '-n', '-5'], 2, /'-5' is invalid: expected a whole number of at least 0/],
  [['logs', 'web', '--lines', 'lots'], 2, /expected a whole number/],
  [['history', 'web', '--limit', '0'], 2, /expected a whole number of at least 1/],
  [['server', '--port', '70000'], 2, /from 1 to 65535/],
  [['init', '--app', 'My App'], 2, /lower-case letters/],
  [['init', '--dir', MISSING], 2, /no such directory/],
  [['--dir', MISSING, 'status'], 2, /no such directory/],
  [['history', 'web', 'extra'], 2, /too many arguments for 'history'/],
  [['rollback', 'web', 'v2', 'now'], 2, /too many arguments/],
  [['down', 'now'], 2, /too many arguments/],
  [['init', 'myapp'], 2, /too many arguments/],
  [['deploy'], 2, /missing required argument 'services'/],
  [['history'], 2, /missing required argument/],
  [['deploy', 'web', '--wait', '--no-wait'], 2, /--wait and --no-wait contradict each other/],
  [['up', '--no-wait', '--wait'], 2, /contradict/],
  [['promote', 'web', '-w', '--no-wait'], 2, /--wait and --no-wait contradict/],
  [['completion', 'tcsh'], 2, /Allowed choices are bash, zsh, fish/],
  [['completion', 'bsh'], 2, /Allowed choices are bash, zsh, fish \(did you mean bash\?\)/],
  [['hosts', 'chek'], 2, /unknown command 'chek' \(did you mean check\?\)/],
  [['help', 'hosts', 'chek'], 2, /did you mean check\?/],
  [['help', 'state', 'restor'], 2, /did you mean restore\?/],
  [['tokens', 'create', '--role', 'admn'], 2, /argument 'admn' is invalid.*\(did you mean admin\?\)/],
  [['tokens', 'create', '--rloe', 'admin'], 2, /unknown option '--rloe' \(did you mean --role\?\)/],
  [['tokens', 'create'], 2, /required option '--role <role>' not specified/],
  [['completion'], 2, /missing required argument 'shell'/],
  // Not a mistake in the command line, but no reason for a stack trace either.
  [['status'], 6, /no controller runs/],
  [['rollback', 'web', '--wait'], 6, /no controller runs/],
  [['validate', 'nope.yaml'], 3, /nope\.yaml/],
];

/** Mistakes the controller catches: a running project with one deployed release. */
const SERVED: Row[] = [
  [['deploy', 'nosuch'], 3, /nosuch/],
  [['status', 'nosuch'], 3, /no service named "nosuch"/],
  [['history', 'nosuch'], 3, /nosuch/],
  [['rollback', 'web', '--to', '99'], 3, /99/],
  [['promote', 'web'], 3, /rollout/],
  [['rollback', 'web', '--to', '1'], 2, /already/],
];

function assertUserError(r: CliResult, [args, code, message]: Row): void {
  const what = `slipway ${args.join(' ')}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
  assert.equal(r.code, code, what);
  assert.doesNotMatch(r.stderr + r.stdout, /bug in Slipway|^\s+at .*[(:]\d+/m, `stack trace or "bug" printed: ${what}`);
  if (message) assert.match(r.stderr, message, what);
  // What to do next: a hint naming a command, a flag or a step.
  assert.match(r.stderr, /^hint: .*(slipway|--|mkdir|Services: )/m, `no hint saying what to do next: ${what}`);
}

describe('bad invocations of the real CLI', () => {
  const bare = new TestProject();
  const served = new TestProject();
  after(async () => {
    await Promise.all([bare.cleanup(), served.cleanup()]);
  });

  it(`${PARSE.length} command-line mistakes exit with their code, a message and a hint, never a stack trace`, async () => {
    assert.ok(PARSE.length + SERVED.length >= 30);
    for (const row of PARSE) assertUserError(await bare.cli(row[0]), row);
  });

  it('with --json, a usage error is JSON on stdout', async () => {
    const r = await bare.cli(['status', '--json', '--bogus']);
    assert.equal(r.code, 2);
    const body = JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } };
    assert.equal(body.error.code, 'USAGE');
    assert.match(body.error.message, /--bogus/);
    assert.match(body.error.hint, /slipway status --help/);
  });

  describe('with a running controller', () => {
    before(async () => {
      await served.writeConfig({ instances: 1 });
      const r = await served.cli(['up']);
      assert.equal(r.code, 0, r.stderr);
    });

    it('mistakes the controller catches exit with their code and a hint', async () => {
      for (const row of SERVED) assertUserError(await served.cli(row[0]), row);
    });

    it('a release message carrying terminal escapes is shown as text by history, status and deploy', async () => {
      const payload = 'v2 \x1b]0;pwned\x07 \x1b[2J\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07 \u009b31m';
      const deploy = await served.cli(['deploy', 'web', '--wait', '--message', payload]);
      assert.equal(deploy.code, 0, deploy.stderr);
      const history = await served.cli(['history', 'web']);
      assert.equal(history.code, 0, history.stderr);
      assert.ok(history.stdout.includes('v2 \\x1b]0;pwned\\x07 \\x1b[2J\\x1b]8;;http://evil.example/\\x07click'), history.stdout);
      for (const r of [deploy, history, await served.cli(['status'])]) {
        // eslint-disable-next-line no-control-regex -- no raw escape, bell or C1 control may reach the terminal
        assert.doesNotMatch(r.stdout + r.stderr, /[\x1b\x07\u009b]/, JSON.stringify(r.stdout + r.stderr));
      }
      // JSON keeps the message exactly as given.
      const json = JSON.parse((await served.cli(['history', 'web', '--json'])).stdout) as { releases: { message: string }[] };
      assert.equal(json.releases[0]!.message, payload);
    });
  });
});
