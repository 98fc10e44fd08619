/**
 * The log of Slipway's long-running processes. The controller (and the drivers in it) log JSON
 * lines through pino, one object per event (`{"level":"info","time":"…","pid":…,"component":
 * "controller","msg":"…"}`; API requests add `reqId`, `method`, `path`, `status`, `ms`, `actor`):
 * what log collectors read. On a terminal (`slipway server` in the foreground), or with
 * SLIPWAY_LOG_FORMAT=text, the same events are the plain lines they always were:
 * `2026-11-29T17:00:00.000Z warn  router  message`. A logger given its own `write` (the router's,
 * a CLI's --verbose) writes plain lines there. SLIPWAY_LOG_LEVEL (pino's levels) filters them.
 */
import { pino, type Logger as Pino } from 'pino';

export type LogLevel = 'info' | 'warn' | 'error';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A logger that also takes fields (the API's request lines). */
export interface FieldLogger extends Logger {
  with(fields: Record<string, unknown>, level: LogLevel, message: string): void;
}

/** Whether this process logs JSON: not on a terminal, unless SLIPWAY_LOG_FORMAT says otherwise. */
export function jsonLogs(env: NodeJS.ProcessEnv = process.env, stderrIsTty = !!process.stderr.isTTY): boolean {
  if (env.SLIPWAY_LOG_FORMAT === 'json') return true;
  if (env.SLIPWAY_LOG_FORMAT === 'text') return false;
  return !stderrIsTty;
}

let root: Pino | undefined;

/** The process's pino logger, on stderr (the controller's is .slipway/controller.log), written synchronously so nothing is lost at exit. */
function processLogger(): Pino {
  root ??= pino(
    {
      level: process.env.SLIPWAY_LOG_LEVEL || 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      base: { pid: process.pid },
      // Never a header: tokens travel in Authorization. Listed in case a caller ever passes a request.
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token'], censor: '[redacted]' },
    },
    pino.destination({ dest: 2, sync: true }),
  );
  return root;
}

/** A logger for `component`: JSON through pino on stderr, or plain lines (a terminal, or `write` given). */
export function createLogger(component: string, write?: (line: string) => void): FieldLogger {
  if (write === undefined && jsonLogs()) {
    const log = processLogger().child({ component });
    return {
      info: (m) => log.info(m),
      warn: (m) => log.warn(m),
      error: (m) => log.error(m),
      with: (fields, level, m) => log[level](fields, m),
    };
  }
  const out =
    write ??
    ((line: string) => {
      process.stderr.write(line);
    });
  const at = (level: LogLevel) => (message: string) =>
    out(`${new Date().toISOString()} ${level.padEnd(5)} ${component.padEnd(10)} ${message}\n`);
  return {
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    with: (fields, level, message) =>
      at(level)(
        `${message} ${Object.entries(fields)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ')}`,
      ),
  };
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
