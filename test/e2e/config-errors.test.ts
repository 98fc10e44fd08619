import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestProject } from '../support/project.js';

describe('bad configuration (real CLI)', () => {
  const p = new TestProject();
  after(() => p.cleanup());

  it('reports every problem at once with file, line, column and key path, and starts nothing', async () => {
    writeFileSync(
      join(p.dir, 'slipway.yaml'),
      [
        'app: test',
        'services:',
        '  web:',
        '    sorce: ./app',
        '    start: node server.js',
        '    port: 99999',
        '    health: { path: /healthz, interval: fast }',
        '    strategy: rollng',
        '',
      ].join('\n'),
    );
    for (const cmd of [['validate'], ['up']]) {
      const r = await p.cli(cmd);
      assert.equal(r.code, 2, `${cmd[0]}: ${r.stderr}`);
      assert.match(r.stderr, /slipway\.yaml:4:5 services\.web\.sorce: .*did you mean "source"/);
      assert.match(r.stderr, /slipway\.yaml:6:11 services\.web\.port: /);
      assert.match(r.stderr, /slipway\.yaml:7:\d+ services\.web\.health\.interval: expected a duration/);
      assert.match(r.stderr, /slipway\.yaml:8:\d+ services\.web\.strategy: .*"rolling"/);
    }
    assert.equal(existsSync(join(p.dir, '.slipway/controller.json')), false, 'a controller was started from an invalid config');
  });

  it('validate --json gives the problems as JSON on stdout', async () => {
    const r = await p.cli(['validate', '--json']);
    assert.equal(r.code, 2);
    const body = JSON.parse(r.stdout) as { error: { code: string; details: { problems: { path: string; line: number }[] } } };
    assert.equal(body.error.code, 'CONFIG_INVALID');
    assert.ok(body.error.details.problems.length >= 4);
    assert.deepEqual(
      body.error.details.problems
        .map((x) => x.path)
        .sort()
        .slice(0, 2),
      ['services.web.health.interval', 'services.web.port'],
    );
  });
});
