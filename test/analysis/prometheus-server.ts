/**
 * A real Prometheus for the analysis tests: the Debian package's binary on 127.0.0.1 with a free
 * port, a temp TSDB and a config that scrapes the given targets every second.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface PrometheusServer {
  url: string;
  /** The last lines Prometheus logged (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** The prometheus binary on PATH (or /usr/bin), or an error saying how to install it. */
export function findPrometheus(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'prometheus');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  throw new Error('the prometheus binary is missing: run scripts/install-system-deps.sh (installs the Debian package prometheus)');
}

/** A port that was free a moment ago (Prometheus cannot listen on port 0 and tell us). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** `credentialsFile`: a file holding a bearer token Prometheus sends with each scrape. */
export async function startPrometheus(
  targets: string[],
  readyTimeoutMs = 60_000,
  opts: { credentialsFile?: string } = {},
): Promise<PrometheusServer> {
  const binary = findPrometheus();
  const dir = mkdtempSync(join(tmpdir(), 'slipway-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: target',
      ...(opts.credentialsFile ? ['    authorization:', `      credentials_file: '${opts.credentialsFile}'`] : []),
      '    static_configs:',
      `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (c: Buffer) => {
    log = (log + c.toString('utf8')).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  void exited.then(() => {
    running = false;
  });
  const url = `http://127.0.0.1:${port}`;
  const server: PrometheusServer = {
    url,
    log: () => log,
    async stop() {
      if (running) {
        child.kill('SIGTERM');
        const forced = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(forced);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // Killed with the test process, should `after` never run.
  process.once('exit', () => {
    if (running) child.kill('SIGKILL');
  });

  const deadline = Date.now() + readyTimeoutMs;
  while (true) {
    if (!running) {
      await server.stop();
      throw new Error(`prometheus exited before it was ready:\n${log}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`);
      if (res.ok) return server;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`prometheus was not ready after ${readyTimeoutMs} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
