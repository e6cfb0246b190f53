/**
 * A small pool of read buffers for `backup.disk`. A fresh 1 MiB buffer per read costs page
 * faults and GC work on every read; reused buffers do not. A buffer returns to the pool only
 * when nothing holds a view into it any more: the read step holds it while it hashes, and the
 * uploader holds each chunk it queued until the chunk's bytes are copied into a frame. A
 * buffer whose holds are never released (a failed backup) is simply left to the GC.
 */
export class ReadBuffers {
  private readonly free: Buffer[] = [];
  private readonly holds = new Map<ArrayBufferLike, number>();

  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  /** A buffer of `size` bytes with one hold on it. */
  acquire(): Buffer {
    // allocUnsafeSlow: each buffer owns its ArrayBuffer, which is what holds are keyed by.
    const buf = this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
    this.holds.set(buf.buffer, 1);
    return buf;
  }

  /** True when `view` points into one of this pool's buffers that is handed out. */
  owns(view: Buffer): boolean {
    return this.holds.has(view.buffer);
  }

  /** One more hold on the pooled buffer `view` points into (no-op for other buffers). */
  retain(view: Buffer): void {
    const n = this.holds.get(view.buffer);
    if (n !== undefined) this.holds.set(view.buffer, n + 1);
  }

  /** Drops one hold; the last one returns the buffer to the pool. */
  release(view: Buffer): void {
    const n = this.holds.get(view.buffer);
    if (n === undefined) return;
    if (n > 1) {
      this.holds.set(view.buffer, n - 1);
      return;
    }
    this.holds.delete(view.buffer);
    if (this.free.length < this.keep) this.free.push(Buffer.from(view.buffer, 0, this.size));
  }
}
