/**
 * The router's log: one line per event on stdout (the client redirects it to DIR/router.log).
 * Nothing is logged per request: that would cost more than proxying it.
 */
export type LogLevel = 'info' | 'warn' | 'error';

/** Writes `2026-01-01T00:00:00.000Z info message` to stdout. */
export function log(level: LogLevel, message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${level} ${message}\n`);
}
