/** Time, injected wherever it matters so that tests move time instead of sleeping. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or rejects with an AbortError when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(t);
        reject(signal?.reason);
      };
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** A clock for tests: time only moves when `advance` is called. */
export class ManualClock implements Clock {
  private waiters: { at: number; resolve: () => void }[] = [];
  constructor(private t = 1_700_000_000_000) {}
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(signal?.reason);
      };
      const w = {
        at: this.t + ms,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.waiters.push(w);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
  advance(ms: number): void {
    this.t += ms;
    const due = this.waiters.filter((w) => w.at <= this.t);
    this.waiters = this.waiters.filter((w) => w.at > this.t);
    for (const w of due) w.resolve();
  }
}

/**
 * A clock that reads `startAt` now and then moves on with `base`: what the controller judges
 * deployment windows by when SLIPWAY_TEST_NOW is set. TEST ONLY: it lets end-to-end tests run a
 * real controller "on a Friday evening" without depending on today's date; sleeping is `base`'s.
 */
export function shiftedClock(startAt: number, base: Clock = systemClock): Clock {
  const offset = startAt - base.now();
  return { now: () => base.now() + offset, sleep: (ms, signal) => base.sleep(ms, signal) };
}

/** The calendar clock SLIPWAY_TEST_NOW (an ISO 8601 time) asks for, for tests only; undefined when unset or not a time. */
export function testCalendarFromEnv(env: NodeJS.ProcessEnv = process.env): Clock | undefined {
  const text = env.SLIPWAY_TEST_NOW;
  if (!text) return undefined;
  const at = Date.parse(text);
  return Number.isFinite(at) ? shiftedClock(at) : undefined;
}
