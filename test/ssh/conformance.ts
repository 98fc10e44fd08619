/**
 * What every Transport must do, checked against real sshd hosts of a test fleet: argv reaches the
 * host exactly (no value turns into shell), exit codes and output come back, stdin and SFTP carry
 * bytes intact, host keys are checked (unknown and changed keys refused, first-use pinning only
 * when asked), a dead host fails the commands in flight within seconds, and the pool keeps one
 * connection per host. Run it for an implementation with `transportConformance(name, make)`.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { SlipwayError } from '../../src/core/errors.js';
import { waitFor } from '../../src/core/wait-for.js';
import { memoryLogger, type Logger } from '../../src/core/logger.js';
import { SshPool } from '../../src/ssh/pool.js';
import { commandLine, shellScript } from '../../src/ssh/quote.js';
import type { SshTarget, Transport } from '../../src/ssh/transport.js';
import { HOSTILE } from '../../src/ssh/quote-testing.js';
import { Fleet } from '../support/fleet/fleet.js';

export function transportConformance(name: string, make: (log: Logger) => Transport): void {
  describe(`SSH transport conformance: ${name}`, { skip: Fleet.skipReason() }, () => {
    let fleet: Fleet;
    let knownHosts: string;
    const lines: string[] = [];
    let transport: Transport;
    const target = (i: number, extra: Partial<SshTarget> = {}): SshTarget => ({
      host: fleet.hosts[i]!.address,
      port: 22,
      user: 'root',
      identityFile: fleet.keyFile,
      knownHosts,
      ...extra,
    });
    const code = async (p: Promise<unknown>): Promise<string> => {
      try {
        await p;
      } catch (err) {
        return err instanceof SlipwayError ? err.code : `not a SlipwayError: ${String(err)}`;
      }
      return 'no error';
    };

    before(async () => {
      fleet = await Fleet.start({ hosts: 2 });
      knownHosts = join(fleet.dir, 'known_hosts');
      writeFileSync(knownHosts, fleet.knownHosts());
      transport = make(memoryLogger(lines));
    });
    after(async () => {
      await fleet?.stop();
    });

    it('runs argv exactly, with exit code and output, and logs host, exit code and duration', async () => {
      const h = await transport.connect(target(0));
      try {
        const ok = await h.run(['hostname']);
        assert.equal(ok.stdout.trim(), 'h1');
        assert.equal(ok.code, 0);
        const bad = await h.run(['sh', '-c', 'echo oops >&2; exit 3'], { check: false });
        assert.equal(bad.code, 3);
        assert.equal(bad.stderr.trim(), 'oops');
        const failed = await h.run(['sh', '-c', 'echo broken >&2; exit 4']).catch((e: SlipwayError) => e);
        assert.ok(failed instanceof SlipwayError && failed.code === 'SSH_COMMAND_FAILED', String(failed));
        assert.match(failed.message, /root@.*:22.*exit 4.*broken/s);
        assert.ok(
          lines.some((l) => /^ssh root@\S+:22 exit=0 \d+ms 'hostname'$/.test(l)),
          lines.join('\n'),
        );
        assert.ok(lines.some((l) => / exit=3 \d+ms /.test(l)));
      } finally {
        h.close();
      }
    });

    it('never lets a value become shell on the host', async () => {
      const h = await transport.connect(target(0));
      try {
        const marker = '/tmp/slipway-injected';
        const values = HOSTILE(marker);
        const out = await h.run(['printf', '%s\\0', ...values]);
        assert.deepEqual(out.stdout.split('\0').slice(0, -1), values);
        const viaScript = await h.run(shellScript('for a in "$@"; do printf "%s\\0" "$a"; done', values));
        assert.deepEqual(viaScript.stdout.split('\0').slice(0, -1), values);
        // A file named like a value is made as a name, not run.
        await h.run(['mkdir', '-p', '/tmp/q']);
        for (const v of values.filter((x) => x !== '' && !x.includes('/'))) await h.run(['touch', `/tmp/q/${v}`]);
        assert.equal((await h.run(['test', '-e', marker], { check: false })).code, 1, `${marker} was created: a value ran`);
        assert.ok(commandLine(['a']).startsWith("'"));
      } finally {
        h.close();
      }
    });

    it('carries stdin and SFTP uploads byte for byte', async () => {
      const h = await transport.connect(target(1));
      try {
        const data = Buffer.alloc(3 * 1024 * 1024 + 17);
        for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
        const want = createHash('sha256').update(data).digest('hex');
        const viaStdin = await h.run(['sh', '-c', 'cat > /root/in.bin && sha256sum /root/in.bin'], { input: Readable.from([data]) });
        assert.equal(viaStdin.stdout.split(' ')[0], want);
        await h.upload('/root/up.bin', data, 0o640);
        const st = await h.run(['stat', '-c', '%a %s', '/root/up.bin']);
        assert.equal(st.stdout.trim(), `640 ${data.length}`);
        assert.equal((await h.run(['sha256sum', '/root/up.bin'])).stdout.split(' ')[0], want);
        assert.ok(h.bytesSent > 2 * data.length, 'bytes sent are counted');
        const bad = await code(h.upload('/no/such/dir/f', Buffer.from('x')));
        assert.equal(bad, 'SSH_UPLOAD_FAILED');
      } finally {
        h.close();
      }
    });

    it('refuses an unknown host key unless first-use pinning is asked for, and a changed one always', async () => {
      const empty = join(fleet.dir, 'known_hosts.empty');
      writeFileSync(empty, '');
      assert.equal(await code(transport.connect(target(1, { knownHosts: empty }))), 'SSH_HOST_KEY_UNKNOWN');
      assert.equal(readFileSync(empty, 'utf8'), '', 'nothing pinned without asking');
      const pinned = await transport.connect(target(1, { knownHosts: empty, trustNewHosts: true }));
      pinned.close();
      assert.equal(readFileSync(empty, 'utf8').trim(), fleet.knownHosts().split('\n')[1]);
      (await transport.connect(target(1, { knownHosts: empty }))).close();

      await fleet.rotateHostKey(1);
      const changed = await transport.connect(target(1, { knownHosts: empty, trustNewHosts: true })).catch((e: SlipwayError) => e);
      assert.ok(changed instanceof SlipwayError && changed.code === 'SSH_HOST_KEY_CHANGED', String(changed));
      assert.match(changed.message, /has changed.*SHA256:/);
      assert.match(changed.hint ?? '', /ssh-keygen -R/);
      writeFileSync(knownHosts, fleet.knownHosts());
    });

    it('authenticates with a key held by an SSH agent', async () => {
      const sock = join(fleet.dir, 'agent.sock');
      const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
      try {
        await waitFor('the ssh-agent socket', () => existsSync(sock), 5000);
        execFileSync('ssh-add', ['-q', fleet.keyFile], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
        const h = await transport.connect(target(0, { identityFile: undefined, agent: sock }));
        assert.equal((await h.run(['hostname'])).stdout.trim(), 'h1');
        h.close();
      } finally {
        agent.kill();
      }
    });

    it('reports a refused key, a stopped sshd and a cut link by host', async () => {
      assert.equal(
        await code(transport.connect(target(0, { identityFile: join(fleet.hosts[0]!.dir, 'ssh_host_ed25519_key') }))),
        'SSH_AUTH_FAILED',
      );
      await fleet.sshdStop(1);
      try {
        const err = await transport.connect(target(1)).catch((e: SlipwayError) => e);
        assert.ok(err instanceof SlipwayError && err.code === 'SSH_UNREACHABLE', String(err));
        assert.match(err.message, /refused/);
      } finally {
        await fleet.sshdStart(1);
      }
    });

    it('fails commands in flight within seconds when the host goes away, and the pool reconnects after', async () => {
      const pool = new SshPool(transport);
      try {
        const a = await pool.get(target(0, { keepaliveIntervalMs: 500, keepaliveCountMax: 3 }));
        assert.equal(await pool.get(target(0)), a, 'one connection per host');
        // Far longer than the keepalives take: if they did not detect the cut, this would end with exit 0.
        const running = a.run(['sleep', '20'], { timeoutMs: 30_000 }).catch((e: SlipwayError) => e);
        await a.run(['true']);
        await fleet.cut(0);
        const err = await running;
        assert.ok(err instanceof SlipwayError && err.code === 'SSH_CONNECTION_LOST', String(err));
        assert.match(err.message, /root@[\d.]+:22/);
        assert.equal(a.alive, false);
        await fleet.heal(0);
        const b = await pool.get(target(0));
        assert.notEqual(b, a);
        assert.equal((await b.run(['hostname'])).stdout.trim(), 'h1');
      } finally {
        await fleet.heal(0);
        await pool.closeAll();
      }
    });

    it('fails commands on a frozen host too (the TCP peer answers, SSH does not)', async () => {
      const h = await transport.connect(target(1, { keepaliveIntervalMs: 500, keepaliveCountMax: 3 }));
      try {
        await fleet.freeze(1);
        const err = await h.run(['true'], { timeoutMs: 30_000 }).catch((e: SlipwayError) => e);
        assert.ok(err instanceof SlipwayError && err.code === 'SSH_CONNECTION_LOST', String(err));
      } finally {
        await fleet.thaw(1);
        h.close();
      }
    });
  });
}
