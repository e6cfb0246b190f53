/**
 * Buffers socket bytes and hands them out in exact-sized pieces, or copies them straight into
 * a caller's buffer (read payloads: one copy from the socket's chunks to their destination).
 */
export class ByteReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private filler: { target: Buffer; done: number; resolve: () => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
    this.wake();
  }

  fail(e: Error): void {
    this.failure ??= e;
    const w = this.waiter ?? this.filler;
    this.waiter = null;
    this.filler = null;
    w?.reject(this.failure);
  }

  read(n: number): Promise<Buffer> {
    if (this.length >= n) return Promise.resolve(this.take(n));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { n, resolve, reject };
    });
  }

  /** Fills all of `target` with the next bytes. */
  readInto(target: Buffer): Promise<void> {
    const done = this.drain(target, 0);
    if (done === target.length) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.filler = { target, done, resolve, reject };
    });
  }

  private wake(): void {
    const f = this.filler;
    if (f) {
      f.done = this.drain(f.target, f.done);
      if (f.done === f.target.length) {
        this.filler = null;
        f.resolve();
      }
      return;
    }
    const w = this.waiter;
    if (w && this.length >= w.n) {
      this.waiter = null;
      w.resolve(this.take(w.n));
    }
  }

  /** Moves buffered bytes into target[done...]; returns the new fill level. */
  private drain(target: Buffer, done: number): number {
    while (done < target.length && this.length > 0) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, target.length - done);
      c.copy(target, done, 0, k);
      done += k;
      this.length -= k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return done;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.length -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    this.drain(out, 0);
    return out;
  }
}
