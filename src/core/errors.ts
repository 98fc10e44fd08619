/**
 * The few kinds of error Slipway reports. Each kind maps to one HTTP status and one CLI exit code,
 * here and nowhere else. Every error also carries a stable `code` (listed in docs/errors.md) and a
 * `hint` saying what to do next.
 */
import { ERROR_CATALOGUE, type ErrorCode } from './error-catalogue.js';

export type ErrorKind = 'invalid' | 'not-found' | 'conflict' | 'unauthorized' | 'forbidden' | 'unavailable' | 'failed' | 'internal';

export const ERROR_KINDS: Record<ErrorKind, { httpStatus: number; exitCode: number }> = {
  invalid: { httpStatus: 400, exitCode: 2 },
  'not-found': { httpStatus: 404, exitCode: 3 },
  conflict: { httpStatus: 409, exitCode: 4 },
  unauthorized: { httpStatus: 401, exitCode: 5 },
  forbidden: { httpStatus: 403, exitCode: 5 },
  unavailable: { httpStatus: 503, exitCode: 6 },
  failed: { httpStatus: 422, exitCode: 1 },
  internal: { httpStatus: 500, exitCode: 70 },
};

/** JSON shape of an error on the wire (API responses, `--json` output). */
export interface ErrorBody {
  error: { kind: ErrorKind; code: string; message: string; hint?: string; details?: unknown };
}

export class SlipwayError extends Error {
  constructor(
    readonly kind: ErrorKind,
    /** Stable, documented identifier such as `CONFIG_INVALID`. */
    readonly code: string,
    message: string,
    readonly options: { hint?: string; details?: unknown; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SlipwayError';
  }

  /** An error of a catalogued code: its kind comes from the catalogue (src/core/error-catalogue.ts). */
  static of(code: ErrorCode, message: string, options: { hint?: string; details?: unknown; cause?: unknown } = {}): SlipwayError {
    return new SlipwayError(ERROR_CATALOGUE[code], code, message, options);
  }

  get hint(): string | undefined {
    return this.options.hint;
  }
  get details(): unknown {
    return this.options.details;
  }
  get httpStatus(): number {
    return ERROR_KINDS[this.kind].httpStatus;
  }
  get exitCode(): number {
    return ERROR_KINDS[this.kind].exitCode;
  }

  toBody(): ErrorBody {
    return { error: { kind: this.kind, code: this.code, message: this.message, hint: this.hint, details: this.details } };
  }

  static fromBody(body: ErrorBody): SlipwayError {
    const e = body.error;
    return new SlipwayError(e.kind, e.code, e.message, { hint: e.hint, details: e.details });
  }

  /** Wraps anything thrown into a SlipwayError, keeping SlipwayErrors as they are. */
  static from(err: unknown): SlipwayError {
    if (err instanceof SlipwayError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return SlipwayError.of('INTERNAL', message, {
      cause: err,
      hint: 'This is a bug in Slipway; the controller log (.slipway/controller.log) has details.',
    });
  }
}

export function isErrorBody(x: unknown): x is ErrorBody {
  return typeof x === 'object' && x !== null && 'error' in x && typeof (x as ErrorBody).error?.code === 'string';
}
