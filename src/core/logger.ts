/**
 * The one log format of Slipway's long-running processes (controller, router supervisor and
 * worker, driver): `2026-11-29T17:00:00.000Z warn  router  message`, one event per line, on the
 * stream the process's log file is attached to. Nothing is logged per request.
 */
export type LogLevel = 'info' | 'warn' | 'error';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A logger for `component` writing whole lines to `write` (default: stderr). */
export function createLogger(
  component: string,
  write: (line: string) => void = (line) => {
    process.stderr.write(line);
  },
): Logger {
  const at = (level: LogLevel) => (message: string) =>
    write(`${new Date().toISOString()} ${level.padEnd(5)} ${component.padEnd(10)} ${message}\n`);
  return { info: at('info'), warn: at('warn'), error: at('error') };
}

/** A logger that drops everything (tests, one-off commands). */
export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A logger that keeps each message (without time or level) in `lines`: for tests. */
export function memoryLogger(lines: string[]): Logger {
  const keep = (message: string) => {
    lines.push(message);
  };
  return { info: keep, warn: keep, error: keep };
}
