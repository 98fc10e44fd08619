/**
 * Flags shared by several commands, declared once so that they mean the same everywhere, and the
 * value parsers that turn "abc" or "-5" into a usage error naming what was expected.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { SlipwayError } from '../core/errors.js';

/** `--wait`/`--no-wait` on every command that starts or steers a rollout; `byDefault` is what neither gives. */
export function waitFlags(cmd: Command, byDefault: boolean): void {
  cmd.addOption(
    new Option('-w, --wait', `follow the rollout to its end with a progress line; exit 1 if it fails${byDefault ? ' (default)' : ''}`),
  );
  cmd.addOption(new Option('--no-wait', `return once the rollout has started${byDefault ? '' : ' (default)'}`));
  cmd.setOptionValueWithSource('wait', byDefault, 'default');
}

export function messageFlag(cmd: Command, what: string): void {
  cmd.option('-m, --message <text>', what);
}

/** A parser for whole numbers of at least `min` ("20"; not "abc", "-5", "1.5" or "1e3"). */
export function wholeNumber(min: number, example: string, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        `expected a whole number${max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : ` of at least ${min}`}, like ${example}.`,
      );
    }
    return n;
  };
}

/** Release numbers as `slipway history` lists them. */
export const releaseNumber = (value: string): number => {
  try {
    return wholeNumber(1, '3')(value);
  } catch {
    throw new InvalidArgumentError('expected a release number (1, 2, 3, …); `slipway history SERVICE` lists them.');
  }
};

/** `--override --reason TEXT`: go through a closed deployment window (controller/gates.ts); the reason is recorded. */
export function overrideFlags(cmd: Command, what: string): void {
  cmd.option('--override', `${what} outside the environment's deployment window (needs --reason; recorded)`);
  cmd.option('--reason <text>', 'why the window is overridden, recorded as an event');
}

/** The request fields of `--override --reason`, refusing a half-given pair before anything is sent. */
export function overrideRequest(flags: { override?: boolean; reason?: string }): { override?: true; reason?: string } {
  if (flags.reason !== undefined && !flags.override)
    throw SlipwayError.of('USAGE', '--reason goes with --override', {
      hint: 'Use -m/--message to say why a release exists; --override --reason "…" goes through a closed deployment window.',
    });
  if (flags.override && !flags.reason?.trim())
    throw SlipwayError.of('OVERRIDE_REASON_REQUIRED', '--override needs a reason', {
      hint: 'Say why with --reason "…"; it is recorded with the release.',
    });
  return flags.override ? { override: true, reason: flags.reason } : {};
}

/** `--listen ADDR:PORT` with `--tls-cert`/`--tls-key` or `--insecure`: where else the API listens (ADR 0024). */
export function listenFlags(cmd: Command): void {
  cmd.option('--listen <address>', 'also serve the API here (beyond loopback it needs --tls-cert/--tls-key or --insecure)');
  cmd.option('--tls-cert <file>', 'PEM certificate for HTTPS on --listen');
  cmd.option('--tls-key <file>', 'PEM private key for HTTPS on --listen');
  cmd.option('--insecure', 'serve --listen over plain HTTP beyond loopback (prints a warning)');
}

/** The `slipway server` arguments that carry the listen flags on. */
export function listenArgs(o: { listen?: string; tlsCert?: string; tlsKey?: string; insecure?: boolean }): string[] {
  return [
    ...(o.listen ? ['--listen', o.listen] : []),
    ...(o.tlsCert ? ['--tls-cert', o.tlsCert] : []),
    ...(o.tlsKey ? ['--tls-key', o.tlsKey] : []),
    ...(o.insecure ? ['--insecure'] : []),
  ];
}
