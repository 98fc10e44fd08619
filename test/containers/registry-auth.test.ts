/**
 * Image releases through a registry that requires credentials (`registry.auth`): the password is a
 * Slipway secret of the environment, handed to podman and skopeo in a private auth file that is
 * removed at once, never on a command line, in output or in a log.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestProject, freePort, get } from '../support/project.js';
import { podmanScratch, podmanSkipReason, type PodmanScratch } from '../support/podman-scratch.js';
import { waitFor } from '../../src/core/wait-for.js';
import type { HistoryResponse, StatusResponse } from '../../src/api/types.js';
import { config, FIXTURE } from './image-project.js';

const skip =
  podmanSkipReason() ?? (hasHtpasswd() ? undefined : 'htpasswd is not installed (apache2-utils; scripts/install-system-deps.sh)');

describe('a registry that requires credentials', { skip }, () => {
  const PASSWORD = 'reg-pw-7f3a9c';
  let scratch: PodmanScratch;
  let registry: ChildProcess | undefined;
  let regUrl: string;
  const p = new TestProject();
  const env = () => ({ ...scratch.env, XDG_CONFIG_HOME: join(p.dir, 'user-config') });
  const cli = (args: string[], input?: string) => p.cli(args, { env: env(), timeoutMs: 180_000, ...(input ? { input } : {}) });
  const authed = { authorization: `Basic ${Buffer.from(`deploy:${PASSWORD}`).toString('base64')}` };
  const catalog = async () =>
    ((await (await fetch(`http://${regUrl}/v2/_catalog`, { headers: authed })).json()) as { repositories: string[] }).repositories;
  const leftAuthFiles = () => readdirSync(scratch.env.TMPDIR).filter((n) => n.startsWith('slipway-registry-auth-'));

  before(async () => {
    scratch = podmanScratch();
    const regDir = join(scratch.dir, 'registry');
    mkdirSync(join(regDir, 'data'), { recursive: true });
    writeFileSync(join(regDir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', 'deploy', PASSWORD], { encoding: 'utf8' }));
    const regPort = await freePort();
    regUrl = `127.0.0.1:${regPort}`;
    writeFileSync(
      join(regDir, 'config.yml'),
      `version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: ${regDir}/data}}\nhttp: {addr: "${regUrl}", secret: test-only}\n` +
        `auth: {htpasswd: {realm: slipway-test, path: ${regDir}/htpasswd}}\n`,
    );
    registry = spawn('docker-registry', ['serve', join(regDir, 'config.yml')], { stdio: 'ignore' });
    await waitFor('the registry to ask for credentials', async () => (await get(`http://${regUrl}/v2/`)).status === 401, 10_000);
    writeFileSync(scratch.env.CONTAINERS_REGISTRIES_CONF, `[[registry]]\nlocation = "${regUrl}"\ninsecure = true\n`);
    p.port = await freePort();
    scratch.writeContext(join(p.dir, 'web'), { '/app/server.js': readFileSync(FIXTURE, 'utf8') });
    const auth = `registry: { url: "${regUrl}", insecure: true, auth: { username: deploy, passwordSecret: REGISTRY_PASSWORD } }\n`;
    writeFileSync(join(p.dir, 'slipway.yaml'), config(p.port, 'v1', auth));
  });
  after(async () => {
    await cli(['down']).catch(() => undefined);
    await p.cleanup();
    if (registry?.pid) registry.kill('SIGTERM');
    scratch.teardown();
  });

  it('pushes with the secret as password, refuses clearly without it or with a wrong one, and never shows it', async () => {
    const unset = await cli(['up']);
    assert.notEqual(unset.code, 0);
    assert.match(unset.stderr, /REGISTRY_PASSWORD/);
    assert.match(unset.stderr, /slipway secrets set REGISTRY_PASSWORD --env/);

    assert.equal((await cli(['secrets', 'set', 'REGISTRY_PASSWORD'], 'not-the-password\n')).code, 0);
    const wrong = await cli(['deploy', 'web', '--wait']);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /pushing web's image to 127\.0\.0\.1:\d+ failed/);
    assert.doesNotMatch(wrong.stdout + wrong.stderr, /not-the-password/);
    assert.deepEqual(await catalog(), []);

    assert.equal((await cli(['secrets', 'set', 'REGISTRY_PASSWORD'], `${PASSWORD}\n`)).code, 0);
    const ok = await cli(['deploy', 'web', '--wait']);
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    assert.match((await get(p.url)).body, /^v1 release=\d+ /);
    assert.deepEqual(await catalog(), ['test/web']);
    const status = await cli(['status', '--json']);
    const web = (JSON.parse(status.stdout) as StatusResponse).services[0]!;
    assert.equal(web.runtime?.where, 'registry');
    // The password is in no output, no log and no file left behind.
    for (const text of [ok.stdout, ok.stderr, status.stdout, readLogs(p.dir)]) assert.doesNotMatch(text, new RegExp(PASSWORD));
    assert.deepEqual(leftAuthFiles(), []);
  });

  it('an existing image of that registry is resolved and pulled with the credentials, then runs', async () => {
    const digest = (JSON.parse((await cli(['history', 'web', '--json'])).stdout) as HistoryResponse).releases[0]!.digest;
    // Tag the pushed image as `stable` in the registry, then forget it locally: only a pull with credentials brings it back.
    await scratch.cli.skopeo([
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--src-creds',
      `deploy:${PASSWORD}`,
      '--dest-creds',
      `deploy:${PASSWORD}`,
      `docker://${regUrl}/test/web@${digest}`,
      `docker://${regUrl}/test/web:stable`,
    ]);
    assert.equal((await cli(['down'])).code, 0);
    await scratch.cli.podman(['rmi', '-af']);
    writeFileSync(
      join(p.dir, 'slipway.yaml'),
      config(
        p.port,
        'v2',
        `registry: { url: "${regUrl}", insecure: true, auth: { username: deploy, passwordSecret: REGISTRY_PASSWORD } }\n`,
      ).replace('image: { build: ./web }', `image: ${regUrl}/test/web:stable`),
    );
    const up = await cli(['up']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    assert.match((await get(p.url)).body, /^v2 release=\d+ /);
    const web = (JSON.parse((await cli(['status', '--json'])).stdout) as StatusResponse).services[0]!;
    assert.equal(web.runtime?.image, `${regUrl}/test/web@${digest}`);
    assert.deepEqual(leftAuthFiles(), []);
  });
});

function hasHtpasswd(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v htpasswd'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Every log file under the project's .slipway directory, concatenated. */
function readLogs(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const f = join(d, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.name.endsWith('.log')) out.push(readFileSync(f, 'utf8'));
    }
  };
  walk(join(dir, '.slipway'));
  return out.join('\n');
}
