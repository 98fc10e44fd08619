/**
 * `slipway flags …` against a real controller and store: changes take effect at once, are
 * versioned with who, when, before, after and why, survive a controller restart, can be reverted,
 * are shown as differences from slipway.yaml, and export back to YAML. Bad input changes nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { userInfo } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlagDrift } from '../../src/cli/commands/flags.js';
import { startFlagProject, type FlagProject } from './support.js';
import type { FlagHistoryResponse, FlagsListResponse } from '../../src/client/flags-client.js';
import type { AuditResponse } from '../../src/api/access-types.js';

describe('slipway flags (real controller)', () => {
  let f: FlagProject;
  before(async () => {
    f = await startFlagProject();
  });
  after(() => f?.project.cleanup());

  const cli = async (...args: string[]) => f.project.cli(['flags', ...args]);
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await cli(...args, '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as T;
  };
  const evaluate = async (key: string, targetingKey: string) => {
    const res = await fetch(`${f.base}/ofrep/v1/evaluate/flags/${key}`, {
      method: 'POST',
      headers: { ...f.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ context: { targetingKey } }),
    });
    return (await res.json()) as { value: unknown; reason: string };
  };

  it('set, history, revert, difference from the file, export, and a restart in between', async () => {
    // user-5 is in bucket 5911: outside 10%, inside 60%.
    assert.equal((await evaluate('new-checkout', 'user-5')).value, false);
    const set = await cli('set', 'new-checkout', '--rollout', '60', '--reason', 'ramp up');
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /on, 10%, 1 rule → on, 60%, 1 rule \(version 1\)/);
    assert.deepEqual(await evaluate('new-checkout', 'user-5'), {
      key: 'new-checkout',
      value: true,
      reason: 'SPLIT',
      variant: 'true',
      metadata: {},
    });

    assert.equal((await cli('set', 'new-checkout', '--off', '--reason', 'errors in checkout')).code, 0);
    assert.equal((await evaluate('new-checkout', 'user-5')).reason, 'DISABLED');

    const list = await json<FlagsListResponse>('list');
    const flag = list.flags.find((x) => x.key === 'new-checkout')!;
    assert.deepEqual(flag.differs.sort(), ['enabled', 'rollout']);
    assert.equal(flag.version, 2);
    assert.equal(list.flags.find((x) => x.key === 'checkout-theme')!.differs.length, 0);
    const table = await cli('list');
    assert.match(table.stderr, /1 flag\(s\) differ from slipway.yaml in production/);
    // status and plan show the difference from the file too.
    for (const command of ['status', 'plan']) {
      const r = await f.project.cli([command]);
      assert.match(r.stdout, /flags changed at run time in production, differing from slipway.yaml:/, `${command}: ${r.stderr}`);
      assert.match(r.stdout, /new-checkout: off \(kill switch\) \(file: on, 10%, 1 rule; changed: rollout, enabled\)/, command);
      assert.doesNotMatch(r.stdout, /checkout-theme:/, command);
    }

    // The store keeps every version across a restart of the controller.
    assert.equal((await f.project.cli(['down'])).code, 0);
    const history = await json<FlagHistoryResponse>('history', 'new-checkout');
    assert.deepEqual(
      history.versions.map((v) => [
        v.version,
        v.action,
        v.before.enabled,
        v.before.rollout.percent,
        v.after.enabled,
        v.after.rollout.percent,
        v.reason,
      ]),
      [
        [2, 'set', true, 60, false, 60, 'errors in checkout'],
        [1, 'set', true, 10, true, 60, 'ramp up'],
      ],
    );
    assert.equal(history.versions[0]!.by, userInfo().username);
    assert.ok(Math.abs(history.versions[0]!.at - Date.now()) < 60_000);
    f = { ...f, ...(await reconnect(f)) };

    const reverted = await cli('revert', 'new-checkout', '1', '--reason', 'fixed');
    assert.equal(reverted.code, 0, reverted.stderr);
    assert.match(reverted.stdout, /off \(kill switch\) → on, 60%, 1 rule \(version 3\)/);
    assert.equal((await evaluate('new-checkout', 'user-5')).value, true);

    // Each change is in the audit log too: who (the token's name), which flag, before and after, why.
    const audit = JSON.parse((await f.project.cli(['audit', '--json'])).stdout) as AuditResponse;
    const changes = audit.entries.filter((e) => e.action === 'flag.change' || e.action === 'flag.revert');
    assert.deepEqual(
      changes.map((e) => [e.action, e.outcome, (e.after as { flag?: string }).flag, (e.after as { version?: number }).version, e.reason]),
      [
        ['flag.change', 'ok', 'new-checkout', 1, 'ramp up'],
        ['flag.change', 'ok', 'new-checkout', 2, 'errors in checkout'],
        ['flag.revert', 'ok', 'new-checkout', 3, 'fixed'],
      ],
    );
    assert.match(changes[0]!.actor, /^local:/);

    const exported = await cli('export');
    assert.equal(exported.code, 0, exported.stderr);
    const yaml = parse(exported.stdout) as { flags: Record<string, { environments?: Record<string, { rollout?: unknown }> }> };
    assert.equal(yaml.flags['new-checkout']!.environments!.production!.rollout, 60);
    assert.deepEqual(Object.keys(yaml.flags).sort(), Object.keys(f.vectors.rawFlags).sort());

    assert.equal((await cli('revert', 'new-checkout', '0')).code, 0);
    const back = await json<FlagsListResponse>('list');
    assert.deepEqual(back.flags.find((x) => x.key === 'new-checkout')!.differs, []);
    assert.equal((await evaluate('new-checkout', 'user-5')).value, false);
  });

  it('refuses bad changes with a stable code and changes nothing', async () => {
    const before = (await json<FlagHistoryResponse>('history', 'new-checkout')).versions.length;
    const cases: [string[], number, RegExp][] = [
      [['set', 'new-checkout', '--rollout', '150'], 2, /FLAG_CHANGE_INVALID|percentage from 0 to 100/],
      [['set', 'new-checkout', '--rules', '[{"if": "user.x ==", "serve": true}]'], 2, /CEL syntax error/],
      [['set', 'new-checkout', '--rules', '[{"if": "true", "serve": "yes"}]'], 2, /serve must be a boolean/],
      [['set', 'checkout-theme', '--rollout', '10', '--by', 'not a path'], 2, /attribute path/],
      [['set', 'no-such-flag', '--on'], 3, /no flag named "no-such-flag"/],
      [['revert', 'new-checkout', '99'], 3, /has no version 99/],
      [['set', 'new-checkout'], 2, /nothing to change/],
    ];
    for (const [args, code, message] of cases) {
      const r = await cli(...args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.equal((await json<FlagHistoryResponse>('history', 'new-checkout')).versions.length, before);
  });

  it('status --json and plan --json carry the difference from the file, and writing flags export into slipway.yaml closes it', async () => {
    assert.equal((await cli('set', 'new-checkout', '--rollout', '35', '--reason', 'more')).code, 0);
    const drift = async (command: string) => {
      const r = await f.project.cli([command, '--json']);
      assert.equal(r.code, 0, `${command}: ${r.stderr}`);
      return (JSON.parse(r.stdout) as { flags: FlagDrift }).flags;
    };
    for (const command of ['status', 'plan']) {
      const d = await drift(command);
      assert.equal(d.environment, 'production', command);
      assert.deepEqual(
        d.differ.map((x) => [x.key, x.differs, x.state.rollout.percent, x.file.rollout.percent]),
        [['new-checkout', ['rollout'], 35, 10]],
        command,
      );
    }
    const exported = await cli('export');
    assert.equal(exported.code, 0, exported.stderr);
    const file = join(f.project.dir, 'slipway.yaml');
    const config = readFileSync(file, 'utf8');
    writeFileSync(file, `${config.slice(0, config.indexOf('\nflags:'))}\n${exported.stdout}\n`);
    for (const command of ['status', 'plan']) assert.deepEqual((await drift(command)).differ, [], `${command} after export`);
    const text = await f.project.cli(['status']);
    assert.doesNotMatch(text.stdout, /differing from slipway.yaml/);
  });
});

/** After a restart the controller has a new port and token. */
async function reconnect(f: FlagProject): Promise<Pick<FlagProject, 'info' | 'base' | 'headers'>> {
  const info = f.project.controllerInfo();
  return { info, base: `http://127.0.0.1:${info.port}`, headers: { authorization: `Bearer ${info.token}` } };
}
