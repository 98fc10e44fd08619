import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatProblemLine, formatProblems } from './format.js';
import { checkConfigText } from './load.js';
import type { ConfigProblem } from './problem.js';

const TEXT = `app: hello
services:
  web:
    sorce: ./web
    start: node server.js
    port: 8080
    health:
      interval: fast
`;
const problems = checkConfigText(TEXT, 'slipway.yaml', { dir: '/app' }).problems;
const ESC = '\x1b[';

describe('formatProblems', () => {
  test('one line per problem reads file:line:col path: message (suggestion)', () => {
    assert.deepEqual(
      problems.map((p) => formatProblemLine(p)),
      [
        'slipway.yaml:3:3 services.web.source: missing required key "source" (is "sorce" a typo for "source"?)',
        'slipway.yaml:4:5 services.web.sorce: unknown key "sorce" (did you mean "source"?)',
        'slipway.yaml:8:17 services.web.health.interval: expected a duration like "250ms", "5s", "2m" or "1h30m" (got "fast")',
      ],
    );
  });

  test('each problem shows its source line with a caret under the offending text', () => {
    const out = formatProblems(problems, { color: false });
    assert.equal(
      out.split('\n\n')[2],
      [
        'slipway.yaml:8:17 services.web.health.interval: expected a duration like "250ms", "5s", "2m" or "1h30m" (got "fast")',
        '  8 |       interval: fast',
        '    |                 ^~~~',
      ].join('\n'),
    );
  });

  test('no colour codes unless asked for', () => {
    const plain = formatProblems(problems, { color: false });
    assert.ok(!plain.includes(ESC), 'plain output has no ANSI escapes');
    const colored = formatProblems(problems, { color: true });
    assert.ok(colored.includes(`${ESC}31m^~~~`), 'the caret is red');
    const stripped = colored
      .split(ESC)
      .map((part, i) => (i === 0 ? part : part.replace(/^\d+m/, '')))
      .join('');
    assert.equal(stripped, plain, 'colour changes nothing but the colour');
  });

  test('the caret stays under the column when the line holds tabs', () => {
    const problem: ConfigProblem = { file: 'f.yaml', line: 1, column: 7, path: 'a', message: 'bad', lineText: 'a: "\tx" b', endColumn: 8 };
    assert.equal(formatProblems([problem], { color: false }).split('\n')[2], '    |     \t ^');
  });
});
