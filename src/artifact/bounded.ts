/**
 * Bounded concurrency for file-system work. Awaiting one call per file leaves the disk and the
 * libuv thread pool idle between calls (issue 13: 20,000 files took 15 s to copy where `cp -r`
 * took 2 s); an unbounded `Promise.all` opens thousands of files at once (EMFILE) and holds every
 * body in memory. A few dozen calls in flight keep the pool busy without either problem.
 */

/** Calls in flight for small-file I/O: enough to keep libuv's 4 threads and the disk queue fed. */
export const IO_CONCURRENCY = 48;

/**
 * Runs tasks with at most `limit` in flight. `run` resolves as soon as the task has started (it
 * waits only while the limit is reached), so a producer can keep going; `drain` waits for all of
 * them and rethrows the first failure. After a failure no new task starts, and `drain` still
 * waits for those in flight, so the caller's cleanup never races a write.
 */
export class TaskPool {
  private inFlight = 0;
  private failure: { error: unknown } | undefined;
  private waiters: (() => void)[] = [];

  constructor(private readonly limit = IO_CONCURRENCY) {}

  /** Starts `task` once a slot is free; throws the first failure of an earlier task instead. */
  async run(task: () => Promise<unknown>): Promise<void> {
    while (this.inFlight >= this.limit && this.failure === undefined) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failure !== undefined) throw this.failure.error;
    this.inFlight++;
    task().then(
      () => this.release(),
      (error: unknown) => {
        this.failure ??= { error };
        this.release();
      },
    );
  }

  /** Waits for every started task; throws the first failure. */
  async drain(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failure !== undefined) throw this.failure.error;
  }

  /** Waits for every started task, ignoring failures (for cleanup paths). */
  async settle(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((r) => this.waiters.push(r));
  }

  private release(): void {
    this.inFlight--;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** Calls `fn` on every item with at most `limit` calls in flight; rejects with the first failure (after the rest settle). */
export async function forEachBounded<T>(items: Iterable<T>, fn: (item: T) => Promise<unknown>, limit = IO_CONCURRENCY): Promise<void> {
  const pool = new TaskPool(limit);
  try {
    for (const item of items) await pool.run(() => fn(item));
  } catch (err) {
    await pool.settle();
    throw err;
  }
  await pool.drain();
}

/** Longest the event loop is held by a run of synchronous file-system calls. */
export const MAX_SYNC_SLICE_MS = 4;

/**
 * Lets a loop of cheap synchronous calls (lstat, open/read/close of cached files) give the event
 * loop a turn every few milliseconds. Those calls take microseconds each, while the promise-based
 * ones cost a trip through libuv's thread pool whose lock gzip's jobs also take; a CPU profile of
 * 20,000 files spent most of the main thread's time submitting such trips. Only reads and stats go
 * this way: writes can be held up by the kernel's dirty-page throttling, so they stay async.
 */
export class TimeSlice {
  private started = performance.now();

  /** Resolves at once, or after a turn of the event loop when the slice is used up. */
  async yieldIfDue(): Promise<void> {
    if (performance.now() - this.started < MAX_SYNC_SLICE_MS) return;
    await new Promise((r) => setImmediate(r));
    this.started = performance.now();
  }
}
