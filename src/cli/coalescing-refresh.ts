/**
 * One read at a time, for views fed by events: `refresh()` starts `read` unless one is running, in
 * which case it asks for exactly one more run after it (however many events arrived meanwhile).
 * The first failure aborts `signal` and is kept in `failure`; `settled()` waits for the run in
 * progress. Used by `slipway watch` and `deploy --wait`.
 */
export interface CoalescingRefresh {
  refresh(): void;
  /** Resolves once no read is running. */
  settled(): Promise<void>;
  /** The error a read threw (it also aborted the signal), if any. */
  readonly failure: unknown;
}

export function coalescingRefresh(read: () => Promise<void>, stop: AbortController): CoalescingRefresh {
  let running: Promise<void> | undefined;
  let again = false;
  let failure: unknown;
  const refresh = () => {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        await read();
      } while (again && !stop.signal.aborted);
    })()
      .catch((err: unknown) => {
        failure ??= err;
        stop.abort();
      })
      .finally(() => {
        running = undefined;
      });
  };
  return {
    refresh,
    settled: async () => {
      await running;
    },
    get failure() {
      return failure;
    },
  };
}
