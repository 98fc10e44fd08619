import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from './load.js';
import { problemsOf } from './config-testing.js';

const config = (environment: string) => `app: gates
services:
  web: { source: ./web, start: node server.js, port: 8080 }
environments:
  production:
${environment}
`;

describe('environment gates in slipway.yaml (approval, windows)', () => {
  test('parsed once at load: spans ready for evaluation, approval with its default', () => {
    const { config: c } = parseConfigText(
      config(`    approval: { required: true }
    windows: { deny: ["Fri 16:00-Mon 06:00"], allow: ["Mon-Fri 09:00-17:00"], timezone: Europe/Berlin }`),
      'slipway.yaml',
      { dir: '/app' },
    );
    const env = c.environments.production!;
    assert.deepEqual(env.approval, { required: true });
    assert.equal(env.windows?.timezone, 'Europe/Berlin');
    assert.equal(env.windows?.deny[0]?.text, 'Fri 16:00-Mon 06:00');
    assert.deepEqual(env.windows?.deny[0]?.spans, [{ kind: 'weekly', startDay: 5, startMinute: 960, endDay: 1, endMinute: 360 }]);
    assert.equal(env.windows?.allow[0]?.spans.length, 5);
    const plain = parseConfigText(config('    target: local'), 'slipway.yaml', { dir: '/app' }).config.environments.production!;
    assert.equal(plain.approval, undefined, 'no approval unless asked for');
    assert.equal(plain.windows, undefined);
  });

  test('a bad window or time zone is a config error at its line and column, all reported at once', () => {
    const problems = problemsOf(
      config(`    windows:
      deny: ["Fri 16:00-Mon 06:00", "Fri 25:00-Sat 01:00"]
      allow: ["weekdays"]
      timezone: Europe/Nowhere
    approval: { required: yes-please }`),
    );
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p]));
    assert.match(byPath['environments.production.windows.deny[1]']!.message, /25:00 is not a time of day/);
    assert.deepEqual(
      [byPath['environments.production.windows.deny[1]']!.line, byPath['environments.production.windows.deny[1]']!.column],
      [7, 37],
    );
    assert.match(byPath['environments.production.windows.allow[0]']!.message, /"weekdays" is not a window; write one like/);
    assert.match(byPath['environments.production.windows.timezone']!.message, /unknown time zone "Europe\/Nowhere"/);
    assert.equal(byPath['environments.production.windows.timezone']!.line, 9);
    assert.ok(byPath['environments.production.approval.required'], 'approval.required must be a boolean');
  });
});
