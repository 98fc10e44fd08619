/**
 * `slipway hosts`, `hosts check` and `hosts setup` through the real CLI against a real fleet:
 * host keys refused until pinned on request, a busy port and a stopped sshd named by host with
 * exit code 1, the layout installed idempotently, usage errors exit 2.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Fleet } from '../support/fleet/fleet.js';
import { TestProject } from '../support/project.js';

interface HostsJson {
  ok: boolean;
  hosts: {
    host: string;
    reachable: boolean;
    ok: boolean;
    layout?: number;
    hostname?: string;
    error?: { code: string };
    checks: { name: string; status: string; detail: string }[];
  }[];
}

describe('slipway hosts (real CLI, real fleet)', { skip: Fleet.skipReason() }, () => {
  let fleet: Fleet;
  const p = new TestProject();
  const root = () => `/srv/slipway-${fleet.id}`;

  before(async () => {
    fleet = await Fleet.start({ hosts: 3 });
    writeFileSync(join(p.dir, 'known_hosts'), '');
    writeFileSync(
      join(p.dir, 'slipway.yaml'),
      `app: shop
default: production
services:
  web:
    source: ./app
    start: node server.js
    port: 8080
environments:
  local: {}
  production:
    target:
      ssh:
        user: root
        identityFile: ${fleet.keyFile}
        knownHosts: ./known_hosts
        root: ${root()}
        hosts:
${fleet.hosts.map((h, i) => `          - { host: ${h.address}, labels: { group: ${i < 2 ? 'blue' : 'green'} } }`).join('\n')}
`,
    );
  });
  after(async () => {
    await fleet?.stop();
    rmSync(p.dir, { recursive: true, force: true });
  });

  it('refuses hosts known_hosts does not list, and pins them only with --trust-new-hosts', async () => {
    const r = await p.cli(['hosts', 'check']);
    assert.equal(r.code, 1, r.stderr);
    for (const h of fleet.hosts) assert.match(r.stderr, new RegExp(`${h.address.replaceAll('.', '\\.')}: SSH_HOST_KEY_UNKNOWN: .*SHA256:`));
    assert.equal(readFileSync(join(p.dir, 'known_hosts'), 'utf8'), '');

    const pinned = await p.cli(['hosts', 'check', '--trust-new-hosts', '--json']);
    assert.equal(pinned.code, 0, pinned.stderr);
    const body = JSON.parse(pinned.stdout) as HostsJson;
    assert.equal(body.ok, true);
    assert.deepEqual(
      body.hosts.map((h) => h.checks.map((c) => `${c.name}:${c.status}`).join(' ')),
      fleet.hosts.map(() => 'ssh:ok user:ok tools:ok runtime:ok disk:ok ports:ok layout:warn'),
    );
    assert.equal(readFileSync(join(p.dir, 'known_hosts'), 'utf8').trim().split('\n').length, 3);
  });

  it('installs the layout on every host, idempotently, and lists the hosts', async () => {
    for (let round = 0; round < 2; round++) {
      const r = await p.cli(['hosts', 'setup']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /3 host\(s\) passed setup/);
    }
    for (const h of fleet.hosts) {
      const tree = await fleet.inHost(h, ['sh', '-c', `cd ${root()} && ls -a && cat layout.json`]);
      assert.match(tree, /files\n.*logs\n.*releases\n.*run\n.*tmp/s);
      assert.match(tree, /"layout":1/);
    }
    const list = await p.cli(['hosts', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const body = JSON.parse(list.stdout) as HostsJson;
    assert.deepEqual(
      body.hosts.map((h) => [h.hostname, h.reachable, h.layout]),
      [
        ['h1', true, 1],
        ['h2', true, 1],
        ['h3', true, 1],
      ],
    );
    const text = await p.cli(['hosts']);
    assert.match(text.stdout, /HOST\s+LABELS\s+REACHABLE/);
    assert.match(text.stdout, /group=green\s+yes\s+h3/);
  });

  it('names the host with a busy port and the host without sshd, and exits 1', async () => {
    await fleet.inHost(1, ['sh', '-c', `setsid node -e "require('net').createServer().listen(8080)" </dev/null >/dev/null 2>&1 &`]);
    await fleet.sshdStop(2);
    try {
      const check = await p.cli(['hosts', 'check']);
      assert.equal(check.code, 1);
      assert.doesNotMatch(check.stderr, new RegExp(`${fleet.hosts[0]!.address.replaceAll('.', '\\.')}:`));
      assert.match(
        check.stderr,
        new RegExp(`${fleet.hosts[1]!.address.replaceAll('.', '\\.')}: ports: port 8080 \\(service web\\) is in use`),
      );
      assert.match(check.stderr, new RegExp(`${fleet.hosts[2]!.address.replaceAll('.', '\\.')}: SSH_UNREACHABLE: .*refused`));
      assert.match(check.stderr, /2 of 3 host\(s\) failed the checks/);

      const list = await p.cli(['hosts', '--json']);
      assert.equal(list.code, 1);
      const body = JSON.parse(list.stdout) as HostsJson;
      assert.deepEqual(
        body.hosts.map((h) => [h.reachable, h.error?.code ?? null]),
        [
          [true, null],
          [true, null],
          [false, 'SSH_UNREACHABLE'],
        ],
      );
    } finally {
      await fleet.sshdStart(2);
    }
  });

  it('usage errors and an environment without hosts exit 2', async () => {
    const local = await p.cli(['hosts', '--env', 'local']);
    assert.equal(local.code, 2);
    assert.match(local.stderr, /HOSTS_NOT_CONFIGURED|runs on this machine/);
    assert.match(local.stderr, /--env production/);
    assert.equal((await p.cli(['hosts', 'check', 'extra'])).code, 2);
    assert.equal((await p.cli(['hosts', 'check', '--no-such-flag'])).code, 2);
  });
});
