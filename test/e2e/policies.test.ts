/**
 * Policies as code, end to end with the real CLI, controller, router and SQLite: an enforce policy
 * refuses a deploy (every violation named, nothing changed, the old release serving), a warn policy
 * lets it through and says so, an audit policy only records an event, rollbacks are checked too,
 * and `slipway policy test` runs the project's test cases offline with exit codes for CI.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControllerClient } from '../../src/client/client.js';
import type { ErrorBody } from '../../src/core/errors.js';
import { get, TestProject } from '../support/project.js';

const POLICIES = `policies:
  - name: needs-ticket
    when: action == "deploy" && !release.firstDeploy
    deny: '!release.message.matches("^[A-Z]+-[0-9]+ ")'
    message: Name the ticket first in the deploy message (-m "OPS-123 what changed")
  - name: on-hold
    deny: release.message.contains("hold")
    message: Deploys are on hold
  - name: rollback-needs-reason
    when: action == "rollback"
    deny: release.message == ""
    message: Say why you roll back (-m)
  - name: canary-preferred
    deny: strategy.type != "canary"
    message: Prefer a canary
    mode: warn
  - name: config-only-change
    deny: "!release.digestChanged && release.configChanged"
    message: Only the configuration changed
    mode: audit
  - name: after-failure
    deny: recentFailures >= 1
    message: A rollout of this service failed in the last 24 hours
    mode: warn
`;

describe('policies as code (real CLI and controller)', () => {
  const p = new TestProject();
  const write = (version: string, env: Record<string, string> = {}) =>
    p.writeConfig({ env: { VERSION: version, ...env }, instances: 1, tail: POLICIES });
  const events = async (type: string) =>
    (await ControllerClient.connect(p.dir).events({ service: 'web' })).events.filter((e) => e.type === type);

  before(() => write('v1'));
  after(() => p.cleanup());

  it('the first deploy goes through; the warn policy is printed and recorded', async () => {
    const r = await p.cli(['up'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: web: policy canary-preferred: Prefer a canary/);
    assert.equal((await get(p.url)).body.split(' ')[0], 'v1');
    const warned = await events('policy.warned');
    assert.equal(warned.length, 1);
    assert.match(warned[0]!.message, /^deploy of web to release 1: canary-preferred: Prefer a canary$/);
    assert.equal((await events('policy.audited')).length, 0, 'the first deploy changes the artifact too: not config-only');
  });

  it('an enforce policy refuses a deploy with every violation at once; nothing changes and release 1 keeps serving', async () => {
    await write('v2');
    const r = await p.cli(['deploy', 'web', '--wait', '-m', 'hold this please']);
    assert.equal(r.code, 5, `forbidden exits 5:\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /deploy of web to release 2 refused by 2 policies/);
    assert.match(r.stderr, /needs-ticket: Name the ticket first in the deploy message/);
    assert.match(r.stderr, /on-hold: Deploys are on hold/);
    assert.match(r.stderr, /the serving release goes on serving/);

    const json = await p.cli(['deploy', 'web', '--json', '-m', 'no ticket']);
    assert.equal(json.code, 5);
    const body = JSON.parse(json.stdout) as ErrorBody;
    assert.equal(body.error.code, 'POLICY_DENIED');
    assert.deepEqual(
      (body.error.details as { violations: { policy: string }[] }).violations.map((v) => v.policy),
      ['needs-ticket'],
    );

    const status = await p.status();
    assert.equal(status.services[0]!.currentRelease, 1);
    assert.equal(status.services[0]!.rollout?.toRelease, 1, 'no rollout was started for the refused deploys');
    assert.equal((await get(p.url)).body.split(' ')[0], 'v1');
    const history = await p.cli(['history', 'web', '--json']);
    assert.deepEqual(
      (JSON.parse(history.stdout) as { releases: { number: number }[] }).releases.map((x) => x.number),
      [1],
      'a refused deploy records no release',
    );
    assert.equal((await events('policy.denied')).length, 2);
  });

  it('with the ticket named it goes through; warn is printed, and the config-only change is audited without a word', async () => {
    const r = await p.cli(['deploy', 'web', '--wait', '-m', 'OPS-7 new greeting']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: web: policy canary-preferred/);
    assert.doesNotMatch(r.stdout + r.stderr, /config-only-change/, 'audit policies are not shown');
    assert.equal((await get(p.url)).body.split(' ')[0], 'v2');
    const audited = await events('policy.audited');
    assert.equal(audited.length, 1);
    assert.match(audited[0]!.message, /deploy of web to release 2: config-only-change: Only the configuration changed/);
  });

  it('a rollback is checked too: refused without a reason, done with one', async () => {
    const refused = await p.cli(['rollback', 'web']);
    assert.equal(refused.code, 5, refused.stderr);
    assert.match(refused.stderr, /rollback of web to release 1 refused by a policy: rollback-needs-reason: Say why you roll back/);
    assert.equal((await p.status()).services[0]!.currentRelease, 2);

    const done = await p.cli(['rollback', 'web', '-m', 'greeting reads wrong']);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /warning: web: policy canary-preferred: Prefer a canary/, 'warn policies are printed for a rollback too');
    assert.equal((await p.status()).services[0]!.currentRelease, 1);
    assert.equal((await get(p.url)).body.split(' ')[0], 'v1');
  });

  it('recentFailures counts a rollout that failed: the next deploy hears about it', async () => {
    await write('v3', { CRASH: '1' });
    const crashed = await p.cli(['deploy', 'web', '--wait', '-m', 'OPS-9 crashes at start'], { timeoutMs: 60_000 });
    assert.equal(crashed.code, 1, `the crash-looping release fails:\n${crashed.stdout}${crashed.stderr}`);
    assert.doesNotMatch(crashed.stderr, /after-failure/, 'no failure before this one');
    await write('v3');
    const fixed = await p.cli(['deploy', 'web', '--wait', '-m', 'OPS-10 starts again'], { timeoutMs: 60_000 });
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.match(fixed.stderr, /warning: web: policy after-failure: A rollout of this service failed in the last 24 hours/);
    assert.equal((await get(p.url)).body.split(' ')[0], 'v3');
  });

  it('slipway policy test: exit 0 when every case passes, 1 naming the failing case, usable without a controller', async () => {
    const cases = `tests:
  - name: a deploy without a ticket is refused
    context: { release: { message: "fix" } }
    expect: deny
    policies: [needs-ticket]
  - name: a canary with a ticket is allowed
    context: { release: { message: "OPS-1 fix" }, strategy: { type: canary } }
    expect: allow
  - name: a rolling deploy with a ticket warns
    context: { release: { message: "OPS-1 fix" } }
    expect: warn
    policies: [canary-preferred]
`;
    writeFileSync(join(p.dir, 'policies.test.yaml'), cases);
    await p.cli(['down'], { timeoutMs: 60_000 });
    const pass = await p.cli(['policy', 'test']);
    assert.equal(pass.code, 0, pass.stdout + pass.stderr);
    assert.match(pass.stdout, /3 tests, 3 passed, 0 failed/);

    writeFileSync(
      join(p.dir, 'policies.test.yaml'),
      `${cases}  - name: rollbacks need no ticket
    context: { action: rollback, release: { message: "" } }
    expect: allow
`,
    );
    const fail = await p.cli(['policy', 'test']);
    assert.equal(fail.code, 1, fail.stdout + fail.stderr);
    assert.match(fail.stdout, /✗ rollbacks need no ticket: expected allow, got deny \(rollback-needs-reason\)/);
    const json = await p.cli(['policy', 'test', '--json']);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as { passed: number; failed: number };
    assert.deepEqual([report.passed, report.failed], [3, 1]);
  });

  it('a policy that does not compile is a config error with its line and column, before anything runs', async () => {
    writeFileSync(
      join(p.dir, 'slipway.yaml'),
      `app: test
services:
  web: { source: ./app, start: node server.js, port: ${p.port} }
policies:
  - name: typo
    when: enviroment.name == "production"
    deny: "true"
    message: m
`,
    );
    const r = await p.cli(['validate']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /slipway\.yaml:6:11 policies\[0\]\.when: unknown variable "enviroment" \(did you mean "environment"\?\)/);
    const t = await p.cli(['policy', 'test']);
    assert.equal(t.code, 2, 'policy test refuses an invalid slipway.yaml the same way');
  });
});
