/** Exponential backoff with jitter: min, 2·min, 4·min, ... capped at max; reset after a success. */
export class Backoff {
  private next: number;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {
    this.next = minMs;
  }

  /** The delay to wait now; the following one doubles. Jitter (±20%) spreads agents after a hub restart. */
  delay(): number {
    const d = this.next;
    this.next = Math.min(this.maxMs, this.next * 2);
    return Math.round(d * (0.8 + Math.random() * 0.4));
  }

  reset(): void {
    this.next = this.minMs;
  }
}

/** Resolve after `ms`, or at once when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
