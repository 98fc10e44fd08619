import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { problemsOf } from './config-testing.js';
import { parseConfigText } from './load.js';

const HEAD = `app: shop
services:
  web:
    source: ./web
    start: node web.js
    port: 8000
environments:
  local: {}
`;

describe('environments.<name>.target.ssh', () => {
  test('a fleet with its defaults, beside a local environment on the same ports', () => {
    const { config } = parseConfigText(
      `${HEAD}  production:
    target:
      ssh:
        user: deploy
        identityFile: ./keys/deploy
        hosts:
          - { host: 10.0.0.11, labels: { group: blue } }
          - { host: web2.example.com, port: 2222 }
`,
      'slipway.yaml',
      { dir: '/app' },
    );
    assert.equal(config.environments.local?.target, 'local');
    assert.deepEqual(config.environments.production?.target, {
      ssh: {
        user: 'deploy',
        identityFile: './keys/deploy',
        hosts: [
          { host: '10.0.0.11', port: 22, labels: { group: 'blue' } },
          { host: 'web2.example.com', port: 2222, labels: {} },
        ],
        parallel: 5,
        maxUnavailableHosts: 1,
        root: '/var/lib/slipway',
        connectTimeout: 5000,
      },
    });
  });

  test('bad values are reported at their line and column with their key path', () => {
    const problems = problemsOf(`${HEAD}  production:
    target:
      ssh:
        user: "deploy; rm -rf /"
        hosts:
          - { host: "10.0.0.11 && reboot" }
          - { host: 10.0.0.12, port: 70000, lables: {} }
        parallel: 0
        root: relative/path
`);
    const at = problems.map((p) => `${p.line}:${p.column} ${p.path}`);
    assert.deepEqual(at, [
      '12:15 environments.production.target.ssh.user',
      '14:21 environments.production.target.ssh.hosts[0].host',
      '15:38 environments.production.target.ssh.hosts[1].port',
      '15:45 environments.production.target.ssh.hosts[1].lables',
      '16:19 environments.production.target.ssh.parallel',
      '17:15 environments.production.target.ssh.root',
    ]);
    assert.match(problems[3]!.suggestion ?? problems[3]!.message, /labels/);
  });

  test('a host listed twice, and more hosts allowed down than there are', () => {
    const problems = problemsOf(`${HEAD}  production:
    target:
      ssh:
        user: deploy
        maxUnavailableHosts: 2
        hosts:
          - { host: 10.0.0.11 }
          - { host: 10.0.0.11, port: 22 }
`);
    assert.deepEqual(
      problems.map((p) => [p.path, p.message]),
      [
        [
          'environments.production.target.ssh.maxUnavailableHosts',
          'maxUnavailableHosts is 2, but there are only 2 host(s): a rollout could take every host out of service',
        ],
        ['environments.production.target.ssh.hosts[1].host', 'host 10.0.0.11 port 22 is listed twice (also hosts[0])'],
      ],
    );
  });

  test('a target that is neither "local" nor ssh: says what it may be', () => {
    const problems = problemsOf(`${HEAD}  production:
    target: kubernetes
`);
    const target = problems.filter((p) => p.path === 'environments.production.target');
    assert.equal(target.length, 1);
    assert.equal(target[0]!.line, 10);
    assert.equal(target[0]!.message, 'expected "local" or a mapping (got "kubernetes")');
  });
});
