/**
 * Reused bulk-frame buffers, for frames built to be sent and for frames received. A fresh ~1 MiB buffer per frame costs page faults and kernel time
 * on every frame (the agent spent more CPU in the kernel than in SHA-256 on a 2 GiB backup) and
 * GC work on the heap's external memory. A frame goes back to the pool only once the transport
 * is done with it: the data plane releases a sent frame when its socket write completed, and a
 * received frame's consumer releases it once nothing refers to its bytes (ingest, restore).
 * Frames that go elsewhere (gRPC fallback, other consumers) are never released and are simply
 * collected; releasing one still in use would corrupt data, so release only where that is sure.
 */
export class FramePool {
  private readonly free: ArrayBuffer[] = [];
  private readonly pooled = new WeakSet<ArrayBufferLike>();
  private readonly out = new WeakSet<ArrayBufferLike>();

  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  /** A buffer of `size` bytes: pooled up to `this.size`, a fresh one above. */
  acquire(size: number): Buffer {
    if (size > this.size) return Buffer.allocUnsafeSlow(size);
    // Not `new ArrayBuffer`: that zero-fills, 1 MiB per frame (a tenth of the hub's main-thread
    // CPU on a 2 GiB backup, as received frames are not all given back).
    const ab = this.free.pop() ?? (Buffer.allocUnsafeSlow(this.size).buffer as ArrayBuffer);
    this.pooled.add(ab);
    this.out.add(ab);
    return Buffer.from(ab, 0, size);
  }

  /** Gives back the pooled buffer `view` points into; other buffers and second releases are ignored. */
  release(view: Uint8Array): void {
    const ab = view.buffer;
    if (!this.pooled.has(ab) || !this.out.has(ab)) return;
    this.out.delete(ab);
    if (this.free.length < this.keep) this.free.push(ab as ArrayBuffer);
  }
}

/** One pool per process for relay frames (RecordPacker's frame size, headroom included). */
export const FRAME_POOL_BYTES = 64 + 1024 * 1024;
export const framePool = new FramePool(FRAME_POOL_BYTES, 32);
