import type { TaskContext } from '../tasks/types.ts';

/** @default 250 ms: progress is a stream of cumulative counters, so skipping updates loses nothing. */
export const PROGRESS_INTERVAL_MS = 250;

/**
 * Reports cumulative `rows` and `bytes` counters at most every `intervalMs`; `final` always reports.
 * `now` is injectable for tests.
 */
export function throttledProgress(ctx: Pick<TaskContext, 'progress'>, intervalMs = PROGRESS_INTERVAL_MS, now: () => number = Date.now) {
  let last = -Infinity;
  return {
    update(c: { rows: number; bytes: number }): void {
      const t = now();
      if (t - last < intervalMs) return;
      last = t;
      ctx.progress({ counters: { rows: c.rows, bytes: c.bytes } });
    },
    final(c: { rows: number; bytes: number }): void {
      last = now();
      ctx.progress({ counters: { rows: c.rows, bytes: c.bytes } });
    },
  };
}
