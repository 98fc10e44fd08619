/**
 * Help and shell completion come from the same command definitions as the parser: every command's
 * help describes each of its flags and shows it in an example, and the bash completion script
 * (as `slipway completion bash` prints it) parses and completes commands, flags and values.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../support/project.js';

function slipway(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Lines of a help section ("Options:", "Examples:") up to the next blank line. */
function section(help: string, title: string): string[] {
  const lines = help.split('\n');
  const start = lines.indexOf(title);
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && l.trim() === '');
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

const commands = (): string[] =>
  section(slipway(['help']).stdout, 'Commands:')
    .map((l) => /^ {2}(\S+)/.exec(l)?.[1])
    .filter((c): c is string => !!c && c !== 'help');

describe('help', () => {
  it('`slipway help NAME` and `NAME --help` describe every flag and show each in an example', () => {
    const names = commands();
    assert.ok(names.length >= 15, names.join(' '));
    for (const name of names) {
      const help = slipway(['help', name]);
      assert.equal(help.code, 0, help.stderr);
      assert.equal(slipway([name, '--help']).stdout, help.stdout);
      const options = section(help.stdout, 'Options:').filter((l) => /^ {2}-/.test(l) && !l.includes('--help'));
      const examples = section(help.stdout, 'Examples:').join('\n');
      assert.ok(examples.includes(`slipway ${name}`), `${name}: no example\n${help.stdout}`);
      for (const line of options) {
        const m = /^ {2}(?:(-\w), )?(--[\w-]+)(?: <\w+>)?\s{2,}(\S.*)$/.exec(line);
        assert.ok(m, `${name}: flag without a description: "${line}"`);
        const [, short, long] = m;
        assert.ok(
          new RegExp(`(^|\\s)(${long}|${short ?? long})(\\s|$)`, 'm').test(examples),
          `${name}: ${long} is in no example\n${help.stdout}`,
        );
      }
    }
  });

  it('global flags are accepted before and after the command', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-help-'));
    try {
      writeFileSync(join(dir, 'slipway.yaml'), 'app: demo\nservices:\n  web: { source: ., start: node server.js, port: 18080 }\n');
      for (const args of [
        ['--dir', dir, '--json', 'validate'],
        ['validate', '--dir', dir, '--json'],
        ['validate', `--dir=${dir}`, '--no-color', '--json'],
      ]) {
        const r = slipway(args);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.equal((JSON.parse(r.stdout) as { config: { app: string } }).config.app, 'demo');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('completion', () => {
  let dir: string;
  let script: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-completion-'));
    script = join(dir, 'slipway.bash');
    const r = slipway(['completion', 'bash']);
    assert.equal(r.code, 0, r.stderr);
    writeFileSync(script, r.stdout);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** What bash offers for the words typed so far; the last word is the one being completed. */
  function complete(...words: string[]): string[] {
    const quoted = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
    const r = spawnSync(
      'bash',
      [
        '--norc',
        '--noprofile',
        '-c',
        `source '${script}' && COMP_WORDS=(slipway ${quoted}) && COMP_CWORD=${words.length} && _slipway && printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { encoding: 'utf8', cwd: dir },
    );
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean);
  }

  it('the bash script parses', () => {
    const r = spawnSync('bash', ['-n', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('completes every command, flags of the command typed, and values', () => {
    assert.deepEqual(complete('').sort(), [...commands(), 'help'].sort());
    assert.deepEqual(complete('dep'), ['deploy']);
    assert.deepEqual(complete('ro'), ['rollback']);
    assert.deepEqual(complete('deploy', 'web', '--w'), ['--wait']);
    const flags = complete('deploy', 'web', '--');
    for (const f of ['--message', '--wait', '--no-wait', '--json', '--dir', '--no-color', '--help'])
      assert.ok(flags.includes(f), `${f} in ${flags.join(' ')}`);
    assert.ok(!flags.includes('--to'), 'rollback flags offered for deploy');
    assert.deepEqual(complete('--dir', '/tmp', 'rollback', 'web', '--t'), ['--to']);
    assert.deepEqual(complete('completion', ''), ['bash', 'zsh', 'fish']);
    assert.deepEqual(complete('help', 'pro'), ['promote']);
    assert.deepEqual(complete('rollback', 'web', '--to', ''), []);
    assert.ok(complete('--dir', '/').includes('/tmp'), 'directories after --dir');
  });

  it('zsh and fish scripts name every command and flag', () => {
    for (const shell of ['zsh', 'fish']) {
      const r = slipway(['completion', shell]);
      assert.equal(r.code, 0, r.stderr);
      for (const name of commands()) assert.ok(r.stdout.includes(name), `${shell}: ${name}`);
      for (const flag of ['wait', 'no-wait', 'message', 'to', 'follow', 'lines', 'json', 'dir', 'no-color'])
        assert.match(r.stdout, new RegExp(`(--|-l )${flag}\\b`), `${shell}: --${flag}`);
    }
  });
});
