import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlipwayError } from '../core/errors.js';
import { IgnoreRules } from './ignore-rules.js';

test('ignore rules: gitignore-subset semantics', () => {
  const rules = IgnoreRules.parse(
    ['# comment', '', '*.log', 'build/', '/only-root.txt', 'docs/*.md', '**/cache', 'assets/**', 'a?c'].join('\n'),
  );
  const cases: [string, boolean, boolean][] = [
    ['x.log', false, true],
    ['deep/er/x.log', false, true],
    ['x.log.txt', false, false],
    ['build', true, true],
    ['sub/build', true, true],
    ['build', false, false], // trailing "/" matches directories only
    ['only-root.txt', false, true],
    ['sub/only-root.txt', false, false], // leading "/" anchors
    ['docs/readme.md', false, true],
    ['docs/sub/readme.md', false, false], // "*" stays within a segment
    ['sub/docs/readme.md', false, false], // an inner "/" anchors too
    ['cache', true, true],
    ['x/y/cache', true, true],
    ['assets/img/logo.png', false, true],
    ['assets', true, false],
    ['abc', false, true],
    ['abbc', false, false],
    ['# comment', false, false],
  ];
  for (const [path, isDir, expected] of cases) assert.equal(rules.ignores(path, isDir), expected, `${path} (dir=${isDir})`);
});

test('ignore rules: regex metacharacters in patterns are literal', () => {
  const rules = IgnoreRules.parse('file(1).txt\na+b');
  assert.equal(rules.ignores('file(1).txt', false), true);
  assert.equal(rules.ignores('file1.txt', false), false);
  assert.equal(rules.ignores('aab', false), false);
});

test('ignore rules: negation is refused with ARTIFACT_IGNORE_INVALID and the line number', () => {
  assert.throws(
    () => IgnoreRules.parse('*.log\n!keep.log\n', 'app/.slipwayignore'),
    (err: SlipwayError) =>
      err.code === 'ARTIFACT_IGNORE_INVALID' && err.kind === 'invalid' && err.message.startsWith('app/.slipwayignore:2:'),
  );
});
