/**
 * nginx (Debian's nginx-light, installed by scripts/install-system-deps.sh) in front of the
 * conformance backend: the peer the router is compared with. One process (master_process off),
 * stopped by its pid.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../src/core/free-port.js';
import { waitFor } from '../../../src/core/wait-for.js';

export interface Nginx {
  port: number;
  version: string;
  close(): Promise<void>;
}

export function nginxInstalled(): boolean {
  return spawnSync('nginx', ['-v']).status === 0;
}

/** Timeouts match the router's in the suite, so stalls end the same way on both. */
export async function startNginx(backendPort: number, timeoutS: { body: number; upstream: number }): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-conformance-nginx-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
master_process off;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  client_body_timeout ${timeoutS.body}s;
  proxy_read_timeout ${timeoutS.upstream}s;
  upstream app { server 127.0.0.1:${backendPort}; keepalive 16; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }
}
`,
  );
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const listening = () =>
    new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
  await waitFor(
    `nginx to listen on ${port}`,
    async () => (await listening()) || (child.exitCode !== null ? Promise.reject(new Error(stderr.trim())) : false),
    10_000,
  );
  const version = /nginx\/([\d.]+)/.exec(spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr)?.[1] ?? '?';
  return {
    port,
    version,
    close: async () => {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
