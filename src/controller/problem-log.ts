import { SlipwayError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/**
 * Logs the loop's recurring failures without flooding: the first occurrence of a distinct error
 * (per subject) gets one line; the same error again is counted, and logged again only at 10, 100,
 * 1000… occurrences; when it clears, one line says after how many. A stack trace is printed only
 * for errors that are not SlipwayErrors (bugs), once.
 */
export class ProblemLog {
  private readonly open = new Map<string, { text: string; count: number }>();

  constructor(private readonly log: Logger) {}

  /** Records a failure of `subject` (e.g. "reconcile web", "router"). Returns its one-line text. */
  note(subject: string, err: unknown): string {
    const text = describe(err);
    const cur = this.open.get(subject);
    if (cur !== undefined && cur.text === text) {
      cur.count++;
      if (Number.isInteger(Math.log10(cur.count))) this.log.error(`${subject}: still failing (${cur.count} times in a row): ${text}`);
      return text;
    }
    const before = cur === undefined ? '' : ` (the previous error, seen ${cur.count} time(s), changed)`;
    this.open.set(subject, { text, count: 1 });
    const stack = err instanceof SlipwayError || !(err instanceof Error) ? '' : `\n${err.stack ?? ''}`;
    this.log.error(`${subject}: ${text}${before}${stack}`);
    return text;
  }

  /** `subject` worked: closes its open failure, if any, with one line. */
  clear(subject: string): void {
    const cur = this.open.get(subject);
    if (cur === undefined) return;
    this.open.delete(subject);
    this.log.info(`${subject}: recovered after ${cur.count} failure(s)`);
  }

  /** The open failure of `subject`: its text and how many times in a row. */
  get(subject: string): { text: string; count: number } | undefined {
    return this.open.get(subject);
  }
}

function describe(err: unknown): string {
  if (err instanceof SlipwayError) return `${err.code}: ${err.message.split('\n')[0]}`;
  if (err instanceof Error) return err.message.split('\n')[0] ?? String(err);
  return String(err);
}
