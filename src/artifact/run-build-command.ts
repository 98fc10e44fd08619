import { spawn } from 'node:child_process';

/** How a build command ended. */
export interface CommandOutcome {
  /** Exit code, or null when killed by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** True when `signal` aborted the run. */
  aborted: boolean;
}

export interface RunCommandOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Called with each output line (stdout and stderr interleaved as they arrive), without the newline. */
  onLine: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * Runs `command` with `/bin/sh -c` in its own process group, so that aborting kills the whole
 * tree (a build's `npm` or `make` children included), not just the shell. Processes still running
 * when the shell exits are killed too. Stdin is closed: a build that waits for input should fail,
 * not hang.
 */
export function runBuildCommand(command: string, options: RunCommandOptions): Promise<CommandOutcome> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return resolve({ exitCode: null, signal: null, aborted: true });
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let aborted = false;
    const killGroup = () => {
      aborted = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    options.signal?.addEventListener('abort', killGroup, { once: true });

    const splitters = [lineSplitter(options.onLine), lineSplitter(options.onLine)] as const;
    child.stdout.on('data', (chunk: Buffer) => splitters[0].push(chunk));
    child.stderr.on('data', (chunk: Buffer) => splitters[1].push(chunk));
    child.on('error', (err) => {
      options.signal?.removeEventListener('abort', killGroup);
      reject(err);
    });
    child.on('exit', () => {
      // Background processes a build leaves behind would hold the output pipes open forever:
      // nothing may outlive the build, so the group goes, and pipes still held elsewhere are cut.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* group already empty */
      }
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 1000).unref();
    });
    // 'close' (not 'exit') waits for the output pipes to drain, so no line is lost.
    child.on('close', (exitCode, signal) => {
      options.signal?.removeEventListener('abort', killGroup);
      splitters[0].end();
      splitters[1].end();
      resolve({ exitCode, signal, aborted });
    });
  });
}

/** Turns a byte stream into lines; a UTF-8 character split across chunks stays whole. */
function lineSplitter(onLine: (line: string) => void): { push(chunk: Buffer): void; end(): void } {
  let pending: Buffer = Buffer.alloc(0);
  return {
    push(chunk) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let nl: number;
      while ((nl = pending.indexOf(0x0a)) !== -1) {
        onLine(pending.subarray(0, nl).toString('utf8').replace(/\r$/, ''));
        pending = pending.subarray(nl + 1);
      }
    },
    end() {
      if (pending.length > 0) onLine(pending.toString('utf8').replace(/\r$/, ''));
      pending = Buffer.alloc(0);
    },
  };
}
