/**
 * A throwaway Slipway project for benchmarks: a temp directory holding slipway.yaml and one app
 * directory, driven through the real compiled CLI. `dispose()` (idempotent) runs `slipway down` (controller,
 * router and instances) and removes the directory.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { freePort, killProcessesUnder, makeTempDir, removeDir, ROOT, runCommand, type CmdResult } from './proc.js';

export const SLIPWAY_CLI = join(ROOT, 'dist/src/cli/main.js');

export interface ServiceConfig {
  instances: number;
  start: string;
  env?: Record<string, string>;
  /** YAML flow mapping for `health:`. */
  health?: string;
  stopTimeout?: string;
  /** YAML flow mapping for the service's `strategy:` (default: none, i.e. rolling), e.g. `{ canary: { steps: [ { weight: 20 } ] } }`. */
  strategy?: string;
  /** YAML flow mapping for the top-level `analysis:` section (default: none), e.g. `{ errors: { metric: error_rate, max: 0.01 } }`. */
  analysis?: string;
  /** YAML flow mapping for the top-level `loadBalancer:` (default: none, the built-in router), e.g. `{ haproxy: {} }`. */
  loadBalancer?: string;
}

export class SlipwayProject {
  private disposed = false;
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  /** A temp project whose service "web" gets `files` copied into `<dir>/app/`, on a free port. */
  static async create(files: string[], prefix = 'slipway-bench-'): Promise<SlipwayProject> {
    const dir = makeTempDir(prefix);
    mkdirSync(join(dir, 'app'));
    for (const f of files) copyFileSync(f, join(dir, 'app', basename(f)));
    return new SlipwayProject(dir, await freePort());
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  /** Writes slipway.yaml with the one service "web" from `./app`, listening on `this.port`. */
  writeConfig(s: ServiceConfig): void {
    const env = Object.entries(s.env ?? {})
      .map(([k, v]) => `      ${k}: ${JSON.stringify(v)}`)
      .join('\n');
    writeFileSync(
      join(this.dir, 'slipway.yaml'),
      `app: bench
services:
  web:
    source: ./app
    start: ${s.start}
    instances: ${s.instances}
    port: ${this.port}
    env:${env ? `\n${env}` : ' {}'}
    health: ${s.health ?? '{ path: /healthz, interval: 1s, timeout: 2s, healthyAfter: 1, unhealthyAfter: 3 }'}
    stopTimeout: ${s.stopTimeout ?? '30s'}${s.strategy ? `\n    strategy: ${s.strategy}` : ''}${s.analysis ? `\nanalysis: ${s.analysis}` : ''}${s.loadBalancer ? `\nloadBalancer: ${s.loadBalancer}` : ''}
environments:
  local: { target: local }
`,
    );
  }

  /** Runs `slipway ARGS` in the project directory. */
  cli(args: string[], timeoutMs = 90_000): Promise<CmdResult> {
    return runCommand(process.execPath, [SLIPWAY_CLI, ...args], { cwd: this.dir, env: { ...process.env, NO_COLOR: '1' }, timeoutMs });
  }

  /** Like `cli`, but throws with the output unless the exit code is 0. */
  async mustCli(args: string[], timeoutMs?: number): Promise<CmdResult> {
    const r = await this.cli(args, timeoutMs);
    if (r.code !== 0) throw new Error(`slipway ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r;
  }

  /**
   * `slipway down`; then any process still running inside the project directory (router,
   * instances: a bug if there is one) is reported and killed; then the directory is removed.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    try {
      const r = await this.cli(['down'], 60_000);
      if (r.code !== 0) console.error(`slipway down exited ${r.code}: ${r.stderr.trim()}`);
    } finally {
      try {
        const left = await killProcessesUnder(this.dir);
        if (left.length) console.error(`WARNING: ${left.length} process(es) outlived \`slipway down\`, killed: ${left.join('; ')}`);
      } finally {
        removeDir(this.dir);
      }
    }
  }
}
