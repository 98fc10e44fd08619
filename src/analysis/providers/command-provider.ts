/**
 * A shell command as a check: `/bin/sh -c command` with SLIPWAY_SERVICE, SLIPWAY_RELEASE and
 * SLIPWAY_BASELINE in its environment, killed (its whole process group) on timeout.
 *
 * Without max/min in the spec it is a pass/fail check: exit 0 → value 1, anything else → value 0
 * with the exit status and a stderr excerpt. With max/min the last number it prints on stdout is
 * the value; a non-zero exit is then a ProviderError (no measurement), since judging a made-up 0
 * against a max would pass a check whose command failed.
 */
import { spawn } from 'node:child_process';
import { excerpt, ProviderError, withTimeout, type MetricProvider, type ProviderFactory } from '../provider.js';
import type { MetricData } from '../evaluate.js';

/** Output kept per stream (the tail: the last number and the final error are what matter). */
const OUTPUT_TAIL_BYTES = 64 * 1024;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export const commandProvider: ProviderFactory<'command'> = (source, target, context): MetricProvider => ({
  windowed: false,
  async start() {},
  async measure(signal): Promise<MetricData> {
    const env = {
      ...process.env,
      SLIPWAY_SERVICE: target.service,
      SLIPWAY_RELEASE: String(target.release),
      SLIPWAY_BASELINE: target.baseline === null ? '' : String(target.baseline),
    };
    const what = `command ${JSON.stringify(excerpt(source.command, 80))}`;
    const exit = await withTimeout(context.clock, source.timeoutMs, signal, 'command', what, (s) => run(source.command, env, s));
    const status = exit.code === null ? `was killed by ${exit.signal}` : `exited ${exit.code}`;
    const stderr = excerpt(exit.stderr);
    const valued = target.spec.max !== undefined || target.spec.min !== undefined;
    if (!valued) {
      if (exit.code === 0) return { kind: 'value', value: 1, detail: `${what} exited 0` };
      return { kind: 'value', value: 0, detail: `${what} ${status}${stderr === '' ? '' : `: ${stderr}`}` };
    }
    if (exit.code !== 0) throw new ProviderError('command', `${what} ${status}${stderr === '' ? '' : `: ${stderr}`}`);
    const value = lastNumber(exit.stdout);
    if (value === undefined)
      throw new ProviderError('command', `${what} printed no number on stdout (got: ${excerpt(exit.stdout) || 'nothing'})`);
    return { kind: 'value', value, detail: what };
  },
});

/** The last decimal number in `text` (integers, decimals, exponents, a sign), if any. */
export function lastNumber(text: string): number | undefined {
  const matches = text.match(/[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/g);
  return matches === null ? undefined : Number(matches[matches.length - 1]);
}

function run(command: string, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<Exit> {
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout kills the children too (`sh -c 'sleep 60'` would
    // otherwise leave the sleep holding our pipes open).
    const child = spawn('/bin/sh', ['-c', command], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out = { stdout: '', stderr: '' };
    const keep = (key: 'stdout' | 'stderr') => (chunk: Buffer) => {
      out[key] = (out[key] + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
    };
    child.stdout.on('data', keep('stdout'));
    child.stderr.on('data', keep('stderr'));
    const kill = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    signal.addEventListener('abort', kill, { once: true });
    child.on('error', (err) => {
      signal.removeEventListener('abort', kill);
      reject(new ProviderError('command', `cannot run /bin/sh: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, sig) => {
      signal.removeEventListener('abort', kill);
      resolve({ code, signal: sig, ...out });
    });
  });
}
