/**
 * A throwaway Slipway project for end-to-end tests: a temp directory with slipway.yaml and the
 * fixture app, the real compiled CLI to drive it, and a cleanup that leaves no process behind.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StatusResponse } from '../../src/api/types.js';
import { readControllerFile, type ControllerFile } from '../../src/controller/paths.js';
import { servicePort as freePort } from './ports.js';

export { freePort };

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const CLI = join(ROOT, 'dist/src/cli/main.js');
const FIXTURE = join(ROOT, 'test/fixtures/app/server.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ServiceOptions {
  instances?: number;
  env?: Record<string, string>;
  start?: string;
  /** More keys of the service, indented by 4 spaces. */
  extra?: string;
  /** Top-level keys after the services (e.g. an analysis section). */
  tail?: string;
  /** The service's health mapping, instead of a 200 ms probe of /healthz healthy after one pass. */
  health?: string;
}

export class TestProject {
  readonly dir: string;
  port = 0;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'slipway-e2e-'));
    mkdirSync(join(this.dir, 'app'));
    copyFileSync(FIXTURE, join(this.dir, 'app/server.js'));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  /** Writes slipway.yaml with one service "web" on a free port (kept across rewrites). */
  async writeConfig(o: ServiceOptions = {}): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const env = Object.entries(o.env ?? { VERSION: 'v1' })
      .map(([k, v]) => `      ${k}: "${v}"`)
      .join('\n');
    writeFileSync(
      join(this.dir, 'slipway.yaml'),
      `app: test
services:
  web:
    source: ./app
    start: ${o.start ?? 'node server.js'}
    instances: ${o.instances ?? 2}
    port: ${this.port}
    env:
${env || '      {}'}
    health: ${o.health ?? '{ path: /healthz, interval: 200ms, timeout: 1s, healthyAfter: 1, unhealthyAfter: 2 }'}
    stopTimeout: 5s
${o.extra ?? ''}
${o.tail ?? ''}
`,
    );
  }

  /** Runs the real CLI in the project directory (`input` on its stdin, `env` added to ours). */
  cli(args: string[], opts: { timeoutMs?: number; input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
    return new Promise((resolveRun, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        cwd: this.dir,
        env: { ...process.env, NO_COLOR: '1', ...opts.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      child.stdin.end(opts.input ?? '');
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`slipway ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 90_000}ms\n${stdout}\n${stderr}`));
      }, opts.timeoutMs ?? 90_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolveRun({ code: code ?? -1, stdout, stderr });
      });
    });
  }

  /** The pid of the project's controller, from .slipway/controller.json. */
  controllerPid(): number {
    return this.controllerInfo().pid;
  }

  /** What the running controller wrote about itself (pid, API port, token): `.slipway/controller.json`. */
  controllerInfo(): ControllerFile {
    const info = readControllerFile(join(this.dir, '.slipway/controller.json'));
    if (info === undefined) throw new Error(`no controller runs for ${this.dir} (no .slipway/controller.json)`);
    return info;
  }

  /** `slipway status --json`, parsed (it prints JSON whatever its exit code says about health). */
  async status(): Promise<StatusResponse> {
    return JSON.parse((await this.cli(['status', '--json'])).stdout) as StatusResponse;
  }

  /** `slipway down`, then removes the directory. */
  async cleanup(): Promise<void> {
    await this.cli(['down'], { timeoutMs: 60_000 }).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** GET a URL's body (one request, no keep-alive). */
export async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { headers: { connection: 'close' } });
  return { status: res.status, body: await res.text() };
}
