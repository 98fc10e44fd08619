import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { SlipwayError } from '../core/errors.js';
import { findConfigFile, loadConfig, parseConfigText } from './load.js';
import type { ConfigProblem } from './problem.js';
import { problemsOf } from './config-testing.js';

const FULL = `app: hello
services:
  web:
    source: ./web
    build: npm ci --omit=dev
    start: node server.js
    instances: 2
    port: 8080
    env: { GREETING: hello, WORKERS: 4, DEBUG: false }
    health: { path: /healthz, interval: 1s, timeout: 2s, healthyAfter: 1, unhealthyAfter: 3 }
    strategy: { rolling: { maxSurge: 1, maxUnavailable: 0 } }
    stopTimeout: 30s
  worker:
    source: ./worker
    start: node worker.js
    port: 8081
    strategy: recreate
environments:
  local: { target: local }
`;

/** `line:column path: message` of each problem, the part a user reads first. */
const brief = (problems: ConfigProblem[]) => problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);

const service = (extra: string) => `app: a\nservices:\n  web:\n    source: .\n    start: x\n    port: 8080\n${extra}`;

describe('parseConfigText', () => {
  test('a valid full config comes back with defaults applied, durations in ms and sources absolute', () => {
    const { config, warnings } = parseConfigText(FULL, 'slipway.yaml', { dir: '/srv/hello' });
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.services.web, {
      source: '/srv/hello/web',
      build: 'npm ci --omit=dev',
      start: 'node server.js',
      instances: 2,
      port: 8080,
      host: '127.0.0.1',
      env: { GREETING: 'hello', WORKERS: '4', DEBUG: 'false' },
      health: { path: '/healthz', interval: 1000, timeout: 2000, healthyAfter: 1, unhealthyAfter: 3 },
      strategy: { type: 'rolling', maxSurge: 1, maxUnavailable: 0 },
      stopTimeout: 30_000,
      progressDeadline: 300_000,
      logs: { maxSize: 10_000_000, files: 3 },
      keepReleases: 10,
    });
    assert.deepEqual(config.services.worker?.strategy, { type: 'recreate' });
    assert.deepEqual(config.services.worker?.health, { interval: 1000, timeout: 2000, healthyAfter: 1, unhealthyAfter: 3 });
    assert.deepEqual(config.environments, { local: { target: 'local', requires: [], services: {} } });
  });

  test('several problems are reported at once, in source order, with exact positions and paths', () => {
    const problems = problemsOf(`app: Hello
services:
  web:
    start: node server.js
    port: 8080
    health:
      interval: fast
    instances: 0
`);
    assert.deepEqual(brief(problems), [
      '1:6 app: expected a name of lowercase letters, digits and dashes, starting with a letter (at most 63 characters) (got "Hello")',
      '3:3 services.web.source: missing required key "source"',
      '7:17 services.web.health.interval: expected a duration like "250ms", "5s", "2m" or "1h30m" (got "fast")',
      '8:16 services.web.instances: expected at least 1 (got 0)',
    ]);
    assert.ok(problems.every((p) => p.file === 'slipway.yaml'));
  });

  test('the error message is one line: the problem when there is one, else the count', () => {
    const err = (() => {
      try {
        parseConfigText(service('    health: { interval: fast }\n'), 'slipway.yaml');
      } catch (e) {
        return e as SlipwayError;
      }
      assert.fail('expected an error');
    })();
    assert.equal(
      err.message,
      'slipway.yaml is not valid: slipway.yaml:7:25 services.web.health.interval: expected a duration like "250ms", "5s", "2m" or "1h30m" (got "fast")',
    );
    assert.throws(() => parseConfigText(service('    port: 1\n    instances: 0\n'), 'slipway.yaml'), {
      message: 'slipway.yaml is not valid: 2 problems',
    });
    assert.match(err.hint ?? '', /configuration\.md/);
    assert.equal(err.exitCode, 2);
  });

  test('secrets: names only; one also in env, one Slipway sets, or one listed twice is reported at its place', () => {
    const { config } = parseConfigText(service('    secrets: [DATABASE_URL, API_KEY]\n'), 'slipway.yaml');
    assert.deepEqual(config.services.web?.secrets, ['DATABASE_URL', 'API_KEY']);
    assert.equal(
      parseConfigText(service(''), 'slipway.yaml').config.services.web?.secrets,
      undefined,
      'no default: config hashes unchanged',
    );
    assert.deepEqual(brief(problemsOf(service('    env: { API_KEY: x }\n    secrets: [API_KEY, PORT, DB, DB, bad-name]\n'))), [
      '8:15 services.web.secrets[0]: "API_KEY" is both in env and in secrets',
      '8:24 services.web.secrets[1]: "PORT" is set by Slipway for every instance and cannot be a secret',
      '8:34 services.web.secrets[3]: secret "DB" is listed twice',
      '8:38 services.web.secrets[4]: expected a secret name: an environment variable name (letters, digits and _) (got "bad-name")',
    ]);
  });

  test('unknown keys are reported at the key, with the closest allowed key as a suggestion', () => {
    const problems = problemsOf(`app: a
services:
  web:
    sorce: ./web
    start: x
    port: 8080
    health: { intervl: 1s }
    colour: blue
`);
    assert.deepEqual(
      problems.map((p) => [`${p.line}:${p.column}`, p.path, p.message, p.suggestion]),
      [
        ['3:3', 'services.web.source', 'missing required key "source"', 'is "sorce" a typo for "source"?'],
        ['4:5', 'services.web.sorce', 'unknown key "sorce"', 'did you mean "source"?'],
        ['7:15', 'services.web.health.intervl', 'unknown key "intervl"', 'did you mean "interval"?'],
        ['8:5', 'services.web.colour', 'unknown key "colour"', undefined],
      ],
    );
  });

  test('a YAML syntax error is reported at its position, and so is every other one', () => {
    const problems = problemsOf('app: a\nservices:\n  web: { source: ., start: x\n  api:\n    port: "8080\n');
    assert.ok(problems.length >= 2, `expected several syntax errors, got ${JSON.stringify(brief(problems))}`);
    assert.ok(problems.every((p) => p.message.startsWith('YAML syntax: ')));
    assert.deepEqual(
      problems.map((p) => `${p.line}:${p.column}`),
      problems.map((p) => `${p.line}:${p.column}`).sort((a, b) => parseInt(a) - parseInt(b)),
    );
    assert.equal(brief(problems).at(-1), '6:1 : YAML syntax: Missing closing "quote');
  });

  test('a flow mapping left open is reported where YAML notices it', () => {
    assert.deepEqual(brief(problemsOf('app: [a\nservices: {}\n')), [
      '2:1 : YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });

  test('a duplicate key is an error at the repeat, naming the line of the first', () => {
    const problems = problemsOf(service('    port: 9090\n'));
    assert.deepEqual(brief(problems), [
      '7:5 services.web.port: duplicate key "port" (first defined on line 6); the later value would silently win',
    ]);
  });

  test('wrong types say what was expected and what was found', () => {
    const problems = problemsOf(`app: a
services:
  web:
    source:
    start: [node, server.js]
    port: "8080"
    instances: 1.5
    health: { tcp: yes }
    env: [A]
`);
    assert.deepEqual(brief(problems), [
      '4:5 services.web.source: expected a string (got an empty value)',
      '5:12 services.web.start: expected a string (got a list)',
      '6:11 services.web.port: expected a number (got "8080")',
      '7:16 services.web.instances: expected a whole number (got 1.5)',
      '8:20 services.web.health.tcp: expected true or false (got "yes")',
      '9:10 services.web.env: expected a mapping (got a list)',
    ]);
  });

  test('an empty file asks for app and services', () => {
    assert.deepEqual(brief(problemsOf('')), ['1:1 : expected a mapping with the keys "app" and "services" (got an empty value)']);
  });

  describe('strategy', () => {
    const strategyOf = (text: string) => parseConfigText(service(`    strategy: ${text}\n`), 'slipway.yaml').config.services.web?.strategy;

    test('the word and the mapping forms give the same shape', () => {
      assert.deepEqual(strategyOf('rolling'), { type: 'rolling', maxSurge: 1, maxUnavailable: 0 });
      assert.deepEqual(strategyOf('{ rolling: { maxSurge: "25%" } }'), { type: 'rolling', maxSurge: '25%', maxUnavailable: 0 });
      assert.deepEqual(strategyOf('{ rolling: }'), { type: 'rolling', maxSurge: 1, maxUnavailable: 0 });
      assert.deepEqual(strategyOf('recreate'), { type: 'recreate' });
      assert.deepEqual(strategyOf('{ recreate: {} }'), { type: 'recreate' });
      assert.deepEqual(parseConfigText(service(''), 'slipway.yaml').config.services.web?.strategy, {
        type: 'rolling',
        maxSurge: 1,
        maxUnavailable: 0,
      });
    });

    test('a misspelt strategy suggests the nearest one', () => {
      const [problem, ...rest] = problemsOf(service('    strategy: rollng\n'));
      assert.deepEqual(rest, []);
      assert.equal(`${problem?.line}:${problem?.column} ${problem?.path}`, '7:15 services.web.strategy');
      assert.equal(problem?.message, 'expected "rolling", "recreate" or a mapping (got "rollng")');
      assert.equal(problem?.suggestion, 'did you mean "rolling"?');
    });

    test('problems inside the mapping form point inside it', () => {
      assert.deepEqual(brief(problemsOf(service('    strategy: { rolling: { maxSurge: lots } }\n'))), [
        '7:38 services.web.strategy.rolling.maxSurge: expected a whole number or a percentage like "25%" (got "lots")',
      ]);
      assert.deepEqual(
        problemsOf(service('    strategy: { rolling: { maxSurg: 2 } }\n')).map((p) => p.suggestion),
        ['did you mean "maxSurge"?'],
      );
      assert.deepEqual(brief(problemsOf(service('    strategy: { rolling: {}, recreate: {} }\n'))), [
        '7:15 services.web.strategy: choose one strategy: rolling, recreate, blueGreen or canary',
      ]);
    });

    test('a rolling update that can neither add nor remove an instance loads with a warning', () => {
      const { config, warnings } = parseConfigText(service('    strategy: { rolling: { maxSurge: 0 } }\n'), 'slipway.yaml');
      assert.deepEqual(config.services.web?.strategy, { type: 'rolling', maxSurge: 0, maxUnavailable: 0 });
      assert.deepEqual(brief(warnings), [
        '7:26 services.web.strategy.rolling: maxSurge 0 and maxUnavailable 0 both come to 0 instances of 1, which could never replace an instance: rollouts will use maxSurge 1',
      ]);
      // Percentages count with the instance count, as the rollout engine counts them.
      const pct = parseConfigText(
        service('    instances: 3\n    strategy: { rolling: { maxSurge: 0, maxUnavailable: "10%" } }\n'),
        'slipway.yaml',
      );
      assert.deepEqual(brief(pct.warnings), [
        '8:26 services.web.strategy.rolling: maxSurge 0 and maxUnavailable 10% both come to 0 instances of 3, which could never replace an instance: rollouts will use maxSurge 1',
      ]);
      assert.deepEqual(
        parseConfigText(service('    instances: 10\n    strategy: { rolling: { maxSurge: 0, maxUnavailable: "10%" } }\n'), 'slipway.yaml')
          .warnings,
        [],
      );
    });
  });

  test('two services with the router on the same port and host conflict; different hosts do not', () => {
    const text = (apiHost: string) => `app: a
services:
  web: { source: ., start: x, port: 8080 }
  api: { source: ., start: x, port: 8080${apiHost} }
`;
    const problems = problemsOf(text(''));
    assert.deepEqual(brief(problems), ['4:37 services.api.port: port 8080 is already used by service "web"']);
    assert.equal(problems[0]?.suggestion, 'give each service its own port');
    assert.deepEqual(brief(problemsOf(text(', host: 0.0.0.0'))), [
      '4:37 services.api.port: port 8080 is already used by service "web" (127.0.0.1 and 0.0.0.0 overlap)',
    ]);
    assert.deepEqual(Object.keys(parseConfigText(text(', host: 127.0.0.2'), 'slipway.yaml').config.services), ['web', 'api']);
  });
});

describe('loadConfig', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const project = (files: Record<string, string>, dirs: string[] = []) => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-config-'));
    for (const d of dirs) mkdirSync(join(dir, d), { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };

  test('loads a file, resolving each source against its directory', () => {
    const root = project({ 'slipway.yaml': FULL }, ['web', 'worker']);
    const loaded = loadConfig(join(root, 'slipway.yaml'));
    assert.equal(loaded.file, join(root, 'slipway.yaml'));
    assert.equal(loaded.dir, root);
    assert.equal(loaded.config.services.web?.source, join(root, 'web'));
    assert.equal(loaded.config.services.worker?.source, join(root, 'worker'));
    assert.deepEqual(loadConfig(root).config, loaded.config, 'a directory means the slipway.yaml inside it');
  });

  test('a missing or non-directory source is an error naming the resolved path', () => {
    const root = project({ 'slipway.yaml': FULL, worker: 'not a directory' });
    assert.throws(
      () => loadConfig(join(root, 'slipway.yaml')),
      (err: SlipwayError) => {
        const problems = (err.details as { problems: ConfigProblem[] }).problems;
        assert.deepEqual(brief(problems), [
          `4:13 services.web.source: source directory not found: ${join(root, 'web')}`,
          `14:13 services.worker.source: source must be a directory, but ${join(root, 'worker')} is a file`,
        ]);
        return err.code === 'CONFIG_INVALID';
      },
    );
  });

  test('a missing file is CONFIG_NOT_FOUND', () => {
    const root = project({});
    assert.throws(
      () => loadConfig(join(root, 'slipway.yaml')),
      (err: SlipwayError) => err.code === 'CONFIG_NOT_FOUND' && err.kind === 'not-found',
    );
  });
});

describe('findConfigFile', () => {
  test('finds slipway.yaml, else slipway.yml, else says how to get one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-find-'));
    try {
      assert.throws(
        () => findConfigFile(dir),
        (err: SlipwayError) => {
          assert.equal(err.code, 'CONFIG_NOT_FOUND');
          assert.equal(err.message, `no slipway.yaml or slipway.yml in ${dir}`);
          assert.match(err.hint ?? '', /--dir/);
          assert.match(err.hint ?? '', /slipway init/);
          return true;
        },
      );
      writeFileSync(join(dir, 'slipway.yml'), 'app: a\n');
      assert.equal(findConfigFile(dir), join(dir, 'slipway.yml'));
      writeFileSync(join(dir, 'slipway.yaml'), 'app: a\n');
      assert.equal(findConfigFile(dir), join(dir, 'slipway.yaml'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
