import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LABEL, runArgs, type RunOptions } from './podman-cli.js';
import { exitOf } from './podman-driver.js';

const base: RunOptions = {
  name: 'web.local-3-abc.0.1f2e',
  image: '127.0.0.1:5000/shop/web@sha256:' + 'a'.repeat(64),
  instance: 'web.local-3-abc',
  service: 'web.local',
  release: 3,
  port: 41234,
  env: { PORT: '41234', GREETING: 'hello; rm -rf / $(reboot) "quoted"' },
  envFromProcess: ['DATABASE_URL'],
  command: '',
  workdir: '',
  hostPid: false,
  pidfile: '/state/run/web.pid',
};

describe('podman run arguments', () => {
  it('run the image by its pinned reference on the host network, logs passed through, labelled, no podman restarts', () => {
    const args = runArgs(base);
    assert.equal(args.at(-1), base.image);
    const pairs = (flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
    assert.deepEqual(pairs('--network'), ['host']);
    assert.deepEqual(pairs('--log-driver'), ['passthrough']);
    assert.deepEqual(pairs('--restart'), ['no']);
    assert.deepEqual(pairs('--pidfile'), ['/state/run/web.pid']);
    assert.deepEqual(pairs('--label'), [
      `${LABEL.instance}=web.local-3-abc`,
      `${LABEL.service}=web.local`,
      `${LABEL.release}=3`,
      `${LABEL.port}=41234`,
    ]);
    assert.ok(!args.includes('--pid'), 'a private pid namespace unless asked');
  });

  it('a config value is one argument, whatever it holds (no shell ever parses it)', () => {
    const args = runArgs(base);
    assert.ok(args.includes('GREETING=hello; rm -rf / $(reboot) "quoted"'));
  });

  it('secrets are named, never valued: podman takes their values from its own environment', () => {
    const args = runArgs(base);
    const i = args.indexOf('DATABASE_URL');
    assert.equal(args[i - 1], '-e');
    assert.ok(!args.some((a) => a.startsWith('DATABASE_URL=')));
  });

  it('a start command runs with the image shell; a release directory is mounted at its own path and is the working directory', () => {
    const args = runArgs({ ...base, command: 'exec node app.mjs', workdir: '/tmp/rel', hostPid: true });
    assert.deepEqual(args.slice(-4), ['/bin/sh', base.image, '-c', 'exec node app.mjs']);
    assert.equal(args[args.indexOf('--entrypoint') + 1], '/bin/sh');
    assert.equal(args[args.indexOf('-v') + 1], '/tmp/rel:/tmp/rel');
    assert.equal(args[args.indexOf('-w') + 1], '/tmp/rel');
    assert.equal(args[args.indexOf('--pid') + 1], 'host');
  });
});

describe('exit status from podman wait', () => {
  it('128 + N is a death by signal N; other codes are exit codes; garbage is unknown', () => {
    assert.deepEqual(exitOf(137), { code: null, signal: 'SIGKILL' });
    assert.deepEqual(exitOf(143), { code: null, signal: 'SIGTERM' });
    assert.deepEqual(exitOf(7), { code: 7, signal: null });
    assert.deepEqual(exitOf(0), { code: 0, signal: null });
    assert.deepEqual(exitOf(Number.NaN), { code: null, signal: null });
  });
});
