/**
 * Small process and filesystem helpers for benchmarks: run a command to completion with a timeout,
 * find a free loopback port, make a temp directory, and a cleanup stack that also runs on Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/bench/support/). */
export const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `cmd args` to completion; SIGKILLs it and rejects after `timeoutMs`. Never throws on a non-zero exit. */
export function runCommand(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CmdResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((res, rej) => {
    const began = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
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
      rej(new Error(`${cmd} ${args.join(' ')} did not finish in ${timeoutMs}ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      rej(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      res({ code: code ?? (signal ? 128 : -1), stdout, stderr, ms: performance.now() - began });
    });
  });
}

export { freePort } from '../../src/core/free-port.js';

/** A fresh directory under the OS temp dir; remove it with `removeDir`. */
export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Whether `pid` names a live process (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/**
 * Linux: finds processes whose working directory is `dir` or below it, SIGTERMs them, SIGKILLs
 * the ones still alive 3 s later, and returns them as "pid cmdline". Elsewhere: returns [].
 */
export async function killProcessesUnder(dir: string): Promise<string[]> {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid);
  } catch {
    return [];
  }
  const found: { pid: number; cmd: string }[] = [];
  for (const p of pids) {
    try {
      const cwd = readlinkSync(`/proc/${p}/cwd`).replace(/ \(deleted\)$/, '');
      if (cwd !== dir && !cwd.startsWith(`${dir}/`)) continue;
      found.push({ pid: Number(p), cmd: readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').trim() });
    } catch {
      /* gone, or not ours to read */
    }
  }
  for (const f of found)
    try {
      process.kill(f.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  const deadline = Date.now() + 3000;
  while (found.some((f) => isAlive(f.pid)) && Date.now() < deadline) await sleep(50);
  for (const f of found)
    if (isAlive(f.pid))
      try {
        process.kill(f.pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
  return found.map((f) => `${f.pid} ${f.cmd}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export { waitFor } from '../../src/core/wait-for.js';

/**
 * Undo actions run last-in first-out, each at most once, errors logged and swallowed. While a
 * stack is `armed`, SIGINT/SIGTERM run it before the process exits, so a Ctrl-C leaves nothing behind.
 */
export class Cleanup {
  private readonly steps: { name: string; fn: () => unknown }[] = [];
  private readonly onSignal = (sig: NodeJS.Signals) => {
    void this.run().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };

  add(name: string, fn: () => unknown): void {
    this.steps.push({ name, fn });
  }

  arm(): void {
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  async run(): Promise<void> {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    for (let s = this.steps.pop(); s; s = this.steps.pop()) {
      try {
        await s.fn();
      } catch (err) {
        console.error(`cleanup: ${s.name} failed: ${(err as Error).message}`);
      }
    }
  }
}
