/**
 * Secrets end to end, with real age encryption, real processes and the real CLI: a deploy is
 * refused while a declared secret is not set; instances get the value (the fixture answers with
 * its sha256, never the value) at first start, after a crash, after a controller restart and in
 * `slipway exec`; changing it makes a new release that rolls out; rollback brings the old value
 * back with the old release. Then every output of every command, every API answer and every file
 * of the project (`.slipway/` included) is searched for the values' plaintext.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TestProject, get, type CliResult } from '../support/project.js';
import { waitFor } from '../../src/core/wait-for.js';
import { pidAlive } from '../../src/core/process.js';
import type { HistoryResponse, StatusResponse } from '../../src/api/types.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const CONFIG = { instances: 2, extra: '    secrets: [API_KEY]' };

describe('secrets: encrypted at rest, injected at every start, never shown (real processes)', () => {
  const p = new TestProject();
  const env = { XDG_CONFIG_HOME: join(p.dir, 'user-config') };
  // Recognisable values: whatever prints or stores one of these leaks.
  const VALUE1 = `leak-canary-one-${randomBytes(8).toString('hex')}`;
  const VALUE2 = `leak-canary-two-${randomBytes(8).toString('hex')}`;
  const ARGUMENT = `leak-canary-arg-${randomBytes(8).toString('hex')}`;
  const outputs: { what: string; text: string }[] = [];

  const cli = async (args: string[], input?: string): Promise<CliResult> => {
    const r = await p.cli(args, { env, input });
    outputs.push({ what: `slipway ${args.join(' ')}`, text: r.stdout + r.stderr });
    return r;
  };
  const status = async (): Promise<StatusResponse> => JSON.parse((await cli(['status', '--json'])).stdout) as StatusResponse;
  /** The digest of API_KEY each running instance reports, asked on its own port (not through the router). */
  const digests = async (): Promise<string[]> => {
    const web = (await status()).services[0]!;
    const running = web.instances.filter((i) => i.state === 'running' && !i.retiring);
    return Promise.all(running.map(async (i) => (await get(`http://127.0.0.1:${i.port}/secret-digest?name=API_KEY`)).body));
  };
  const allServe = (value: string, count = 2) =>
    waitFor(
      `${count} instances with the expected API_KEY`,
      async () => {
        const d = await digests().catch(() => []);
        return d.length === count && d.every((x) => x === sha(value)) && d;
      },
      30_000,
    );

  before(async () => {
    await p.writeConfig(CONFIG);
  });
  after(() => p.cleanup());

  it('a deploy is refused while API_KEY is not set, naming it and the command; nothing starts', async () => {
    const up = await cli(['up']);
    assert.notEqual(up.code, 0);
    assert.match(up.stderr, /web needs API_KEY: not set in environment "local"/);
    assert.match(up.stderr, /slipway secrets set API_KEY --env local/);
    const s = await status();
    assert.equal(s.services[0]?.instances.length ?? 0, 0, 'no instance was started');
    const json = await cli(['deploy', 'web', '--json']);
    assert.equal((JSON.parse(json.stdout) as { error: { code: string } }).error.code, 'SECRET_NOT_SET');
  });

  it('a value given as an argument is refused and not stored; from stdin it is (trailing newline stripped)', async () => {
    const arg = await cli(['secrets', 'set', 'API_KEY', ARGUMENT, '--json']);
    assert.equal(arg.code, 2);
    assert.equal((JSON.parse(arg.stdout) as { error: { code: string } }).error.code, 'SECRET_VALUE_AS_ARGUMENT');
    const set = await cli(['secrets', 'set', 'API_KEY', '--env', 'local'], `${VALUE1}\n`);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stderr, /created the secrets key .*user-config\/slipway\/keys\/test\.txt \(mode 0600\)/);
    assert.equal(statSync(join(env.XDG_CONFIG_HOME, 'slipway/keys/test.txt')).mode & 0o777, 0o600);
    const list = JSON.parse((await cli(['secrets', 'list', '--json'])).stdout) as { secrets: { name: string; set: boolean }[] };
    assert.deepEqual(
      list.secrets.map((s) => [s.name, s.set]),
      [['API_KEY', true]],
    );
    assert.match((await cli(['secrets', 'list', '--env', 'local'])).stdout, /local\s+API_KEY\s+\d+s ago/);
  });

  it('instances get the value; changing it makes release 2, which rolls out; setting the same value again deploys nothing', async () => {
    // A port picked now, not at the start: a port free since then may have been taken by another test's instance.
    p.port = 0;
    await p.writeConfig(CONFIG);
    const up = await cli(['up']);
    assert.equal(up.code, 0, up.stderr);
    await allServe(VALUE1);
    assert.equal((await get(`${p.url}secret-digest?name=API_KEY`)).body, sha(VALUE1), 'through the router too');

    // When the secret changes, status tells (without the key) and the next `up` deploys a new release
    assert.equal((await cli(['secrets', 'set', 'API_KEY'], VALUE2)).code, 0);
    const drift = (await status()).services[0]!.drift!;
    assert.equal(drift.state, 'changed');
    assert.match(drift.message, /a secret was set or removed since/);
    const up2 = await cli(['up']);
    assert.equal(up2.code, 0, up2.stderr);
    assert.match(up2.stdout + up2.stderr, /web: a secret changed since release 1 → deploying/);
    await allServe(VALUE2);
    let h = JSON.parse((await cli(['history', 'web', '--json'])).stdout) as HistoryResponse;
    assert.deepEqual(
      h.releases.map((r) => r.number),
      [2, 1],
    );
    assert.deepEqual(h.releases[0]!.secrets, ['API_KEY']);
    assert.notEqual(h.releases[0]!.secretsHash, h.releases[1]!.secretsHash);
    assert.match((await cli(['history', 'web'])).stdout, /changed/);

    // Set to the value it has: re-encrypted (new ciphertext), same keyed hash, so no release
    assert.equal((await cli(['secrets', 'set', 'API_KEY'], `${VALUE2}\n`)).code, 0);
    assert.equal((await cli(['up'])).code, 0);
    h = JSON.parse((await cli(['history', 'web', '--json'])).stdout) as HistoryResponse;
    assert.equal(h.releases.length, 2, 'the same value made no new release');
    assert.equal((await status()).services[0]!.drift!.state, 'unchanged', 'nor does status call it a change');
  });

  it('a crashed instance and one that died while the controller was down restart with the value (decrypted again)', async () => {
    const victim = (await status()).services[0]!.instances.find((i) => i.state === 'running')!;
    process.kill(victim.pid!, 'SIGKILL');
    await waitFor(
      'the crashed instance back with a new process',
      async () => {
        const i = (await status()).services[0]!.instances.find((x) => x.id === victim.id);
        return i?.state === 'running' && i.pid !== victim.pid && i;
      },
      20_000,
    );
    await allServe(VALUE2);

    // Given the controller killed, when an instance dies meanwhile, then the next controller restarts it with its secret
    const controller = p.controllerPid();
    process.kill(controller, 'SIGKILL');
    await waitFor('the controller gone', () => !pidAlive(controller), 10_000);
    const instances = JSON.parse(readFileSync(join(p.dir, '.slipway/local/instances.json'), 'utf8')) as {
      instances: { pid: number; spec: { id: string } }[];
    };
    const dead = instances.instances[0]!;
    // The whole instance dies (its process group: the shell and the app it started).
    process.kill(-dead.pid, 'SIGKILL');
    await waitFor('the instance gone', () => !pidAlive(dead.pid), 10_000);
    assert.equal((await cli(['up'])).code, 0);
    await waitFor(
      'the instance restarted by the new controller',
      async () => {
        const i = (await status()).services[0]!.instances.find((x) => x.id === dead.spec.id);
        return i?.state === 'running' && i.pid !== dead.pid && i;
      },
      20_000,
    );
    await allServe(VALUE2);
    await waitFor('web healthy again', async () => (await status()).services[0]!.health === 'Healthy', 20_000);
  });

  it('exec runs with the secret (decrypted by the CLI); logs, status and validate work as usual', async () => {
    const ex = await cli([
      'exec',
      'web',
      '--',
      'node',
      '-e',
      "process.stdout.write(require('crypto').createHash('sha256').update(process.env.API_KEY).digest('hex'))",
    ]);
    assert.equal(ex.code, 0, ex.stderr);
    assert.equal(ex.stdout, sha(VALUE2));
    for (const args of [
      ['logs', 'web'],
      ['logs', 'web', '--json'],
      ['status'],
      ['status', 'web', '--json'],
      ['validate'],
      ['validate', '--json'],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    }
  });

  it('rollback brings release 1 back with the value it was deployed with', async () => {
    const rb = await cli(['rollback', 'web', '--wait']);
    assert.equal(rb.code, 0, rb.stderr);
    await allServe(VALUE1);
    assert.equal((await cli(['rollback', 'web', '--to', '2', '--wait', '--json'])).code, 0);
    await allServe(VALUE2);
  });

  it('rm: the serving release keeps running; the next deploy is refused until it is set again', async () => {
    const rm = await cli(['secrets', 'rm', 'API_KEY', '--env', 'local']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.match(rm.stderr, /web still declares API_KEY/);
    const deploy = await cli(['deploy', 'web']);
    assert.notEqual(deploy.code, 0);
    assert.match(deploy.stderr, /web needs API_KEY: not set/);
    await allServe(VALUE2);
    assert.equal((await cli(['secrets', 'list', '--json'])).code, 0);
  });

  it('no value appears in any output, API answer or file of the project (state database, logs, driver and router state)', async () => {
    // Every read endpoint of the API, raw, as a client would see it
    const info = p.controllerInfo();
    const api = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${info.port}${path}`, { headers: { authorization: `Bearer ${info.token}` } });
      const text = await res.text();
      outputs.push({ what: `GET ${path}`, text });
      return text;
    };
    await api('/v1/status');
    await api('/v1/services/web/status');
    const history = JSON.parse(await api('/v1/services/web/history')) as HistoryResponse;
    await api('/v1/services/web/exec-context');
    await api('/v1/events?limit=1000');
    for (const r of history.rollouts) await api(`/v1/rollouts/${r.id}`);
    await api('/v1/services/web/logs?lines=1000');

    const leaks = (text: string) => [VALUE1, VALUE2, ARGUMENT].filter((v) => text.includes(v));
    for (const o of outputs) assert.deepEqual(leaks(o.text), [], `${o.what} printed a secret value`);
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, e.name);
        if (e.isDirectory()) walk(path);
        else if (e.isFile()) files.push(path);
      }
    };
    walk(p.dir);
    assert.ok(files.some((f) => f.endsWith('.slipway/state.db')));
    assert.ok(files.some((f) => f.endsWith('.slipway/local/instances.json')));
    for (const f of files) assert.deepEqual(leaks(readFileSync(f).toString('latin1')), [], `${f} holds a secret value in plaintext`);
    assert.ok(outputs.length > 30, `${outputs.length} outputs searched`);
  });
});
