/**
 * PM2 in a sandbox: its own PM2_HOME in a temp directory, so the daemon, sockets, logs and dump
 * never touch the user's ~/.pm2. `dispose()` (idempotent) runs `pm2 kill` (daemon and every app) and removes it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, makeTempDir, removeDir, ROOT, runCommand, sleep, type CmdResult } from './proc.js';

export const PM2_BIN = join(ROOT, 'node_modules/pm2/bin/pm2');

export interface Pm2Process {
  name: string;
  pm_id: number;
  pid: number;
  pm2_env: { status: string; restart_time: number; exec_mode: string };
}

export class Pm2Sandbox {
  readonly home = makeTempDir('pm2-bench-');
  private disposed = false;

  private env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return { ...process.env, ...extra, PM2_HOME: this.home, PM2_DISCRETE_MODE: 'true', NO_COLOR: '1' };
  }

  /** Runs `pm2 ARGS` against this sandbox; `env` is added to the CLI's environment (apps inherit it on start, or on reload with --update-env). */
  pm2(args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CmdResult> {
    return runCommand(process.execPath, [PM2_BIN, ...args], {
      cwd: opts.cwd,
      env: this.env(opts.env),
      timeoutMs: opts.timeoutMs ?? 60_000,
    });
  }

  async mustPm2(args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CmdResult> {
    const r = await this.pm2(args, opts);
    if (r.code !== 0) throw new Error(`pm2 ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r;
  }

  async list(): Promise<Pm2Process[]> {
    const r = await this.mustPm2(['jlist']);
    return JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as Pm2Process[];
  }

  /** `pm2 kill`, SIGKILL for a daemon that survived it, then removes PM2_HOME (whatever failed). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    let daemon = 0;
    try {
      daemon = Number(readFileSync(join(this.home, 'pm2.pid'), 'utf8').trim());
    } catch {
      /* never started */
    }
    try {
      const r = await this.pm2(['kill'], { timeoutMs: 30_000 });
      if (r.code !== 0) console.error(`pm2 kill exited ${r.code}: ${r.stderr.trim()}`);
    } finally {
      // `pm2 kill` returns while the daemon is still exiting: give it a few seconds before SIGKILL.
      const deadline = Date.now() + 5000;
      while (daemon > 0 && isAlive(daemon) && Date.now() < deadline) await sleep(50);
      if (daemon > 0 && isAlive(daemon)) {
        process.kill(daemon, 'SIGKILL');
        console.error(`pm2 daemon ${daemon} outlived pm2 kill by 5 s: SIGKILLed`);
      }
      removeDir(this.home);
    }
  }
}
