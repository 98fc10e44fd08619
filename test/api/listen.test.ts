/**
 * Where the API listens: loopback by default; `--listen` beyond loopback only with TLS (a
 * self-signed certificate made by openssl here) or an explicit `--insecure` that warns. Real
 * controller, real HTTPS; requests go to 127.0.0.1 only.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { TestProject } from '../support/project.js';
import type { ControllerFile } from '../../src/controller/paths.js';

function controllerFile(p: TestProject): ControllerFile {
  return p.controllerInfo();
}

describe('controller API listeners (real controller)', () => {
  const p = new TestProject();
  let cert = '';
  let key = '';
  before(async () => {
    await p.writeConfig({ instances: 1 });
    cert = join(p.dir, 'cert.pem');
    key = join(p.dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=slipway-test',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
  });
  after(() => p.cleanup());

  it('refuses --listen beyond loopback without TLS or --insecure, and bad TLS files, before starting anything', async () => {
    const plain = await p.cli(['up', '--listen', '0.0.0.0:0']);
    assert.equal(plain.code, 2, plain.stderr);
    assert.match(plain.stderr, /LISTEN_NEEDS_TLS|beyond loopback/);
    assert.match(plain.stderr, /--tls-cert .* --insecure/);
    const half = await p.cli(['up', '--listen', '0.0.0.0:0', '--tls-cert', cert]);
    assert.equal(half.code, 2);
    assert.match(half.stderr, /--tls-key is missing/);
    writeFileSync(join(p.dir, 'not.pem'), 'hello');
    const notPem = await p.cli(['up', '--listen', '0.0.0.0:0', '--tls-cert', join(p.dir, 'not.pem'), '--tls-key', key]);
    assert.equal(notPem.code, 2);
    assert.match(notPem.stderr, /not a PEM file/);
    const addr = await p.cli(['up', '--listen', 'example:80']);
    assert.equal(addr.code, 2);
    assert.match(addr.stderr, /is not ADDR:PORT/);
    // Nothing started.
    assert.throws(() => controllerFile(p));
  });

  it('serves HTTPS with the given certificate beyond loopback, keeping loopback HTTP for the local CLI', async () => {
    const up = await p.cli(['up', '--listen', '0.0.0.0:0', '--tls-cert', cert, '--tls-key', key]);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    const info = controllerFile(p);
    assert.deepEqual({ ...info.listen, port: 0 }, { address: '0.0.0.0', port: 0, tls: true });
    const token = readFileSync(join(p.dir, '.slipway/token'), 'utf8').trim();
    const dispatcher = new Agent({ connect: { ca: readFileSync(cert) } });
    try {
      const res = await undiciFetch(`https://127.0.0.1:${info.listen!.port}/v1/status`, {
        headers: { authorization: `Bearer ${token}` },
        dispatcher,
      });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { services: unknown[] }).services.length, 1);
      const anonymous = await undiciFetch(`https://127.0.0.1:${info.listen!.port}/v1/status`, { dispatcher });
      assert.equal(anonymous.status, 401);
      // Plain HTTP on the TLS port gets no API answer.
      await assert.rejects(fetch(`http://127.0.0.1:${info.listen!.port}/v1/status`, { headers: { authorization: `Bearer ${token}` } }));
    } finally {
      await dispatcher.close();
    }
    // A client that does not trust the certificate is refused by TLS itself.
    await assert.rejects(fetch(`https://127.0.0.1:${info.listen!.port}/v1/health`));
    const status = await p.cli(['status']);
    assert.equal(status.code, 0, status.stderr);
    const down = await p.cli(['down']);
    assert.equal(down.code, 0, down.stderr);
  });

  it('serves plain HTTP beyond loopback only with --insecure, and warns', async () => {
    const up = await p.cli(['up', '--listen', '0.0.0.0:0', '--insecure']);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    assert.match(up.stderr, /WARNING: the API listens on 0\.0\.0\.0:\d+ over plain HTTP \(--insecure\)/);
    const info = controllerFile(p);
    assert.equal(info.listen?.tls, false);
    const token = readFileSync(join(p.dir, '.slipway/token'), 'utf8').trim();
    const res = await fetch(`http://127.0.0.1:${info.listen!.port}/v1/health`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    assert.match(
      readFileSync(join(p.dir, '.slipway/controller.log'), 'utf8'),
      /WARNING: the API listens on 0\.0\.0\.0:\d+ over plain HTTP/,
    );
  });
});
